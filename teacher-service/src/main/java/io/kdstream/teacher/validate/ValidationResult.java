package io.kdstream.teacher.validate;

/**
 * A teacher's accuracy on a labelled split against a floor.
 *
 * @param accuracy correct / examples
 * @param examples examples scored
 * @param floor    minimum accepted accuracy
 */
public record ValidationResult(double accuracy, int examples, double floor) {
    public ValidationResult {
        if (examples < 0 || !(accuracy >= 0 && accuracy <= 1) || !(floor >= 0 && floor <= 1)) {
            throw new IllegalArgumentException("accuracy and floor in [0, 1], examples >= 0");
        }
    }

    public boolean passed() {
        return accuracy >= floor;
    }
}
