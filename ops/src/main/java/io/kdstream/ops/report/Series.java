package io.kdstream.ops.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One named line of a chart: points in the order they were observed. Points with a non-finite coordinate are kept out
 * of the series and counted in {@link #nonFinite()}, so a chart can say how many it could not draw.
 *
 * @param name      legend label
 * @param points    finite points, in order
 * @param nonFinite points left out because x or y was NaN or infinite
 */
public record Series(String name, List<Point> points, int nonFinite) {

    /** A point of a series. */
    public record Point(double x, double y) {
        public Point {
            if (!Double.isFinite(x) || !Double.isFinite(y)) {
                throw new IllegalArgumentException("point coordinates must be finite, got (" + x + ", " + y + ")");
            }
        }
    }

    public Series {
        Objects.requireNonNull(name, "name");
        points = List.copyOf(points);
        if (nonFinite < 0) {
            throw new IllegalArgumentException("nonFinite must be >= 0, got " + nonFinite);
        }
    }

    /** A series from parallel x and y values; pairs with a non-finite coordinate are counted, not drawn. */
    public static Series of(String name, double[] xs, double[] ys) {
        if (xs.length != ys.length) {
            throw new IllegalArgumentException("xs and ys differ in length: " + xs.length + " vs " + ys.length);
        }
        Builder b = builder(name);
        for (int i = 0; i < xs.length; i++) {
            b.add(xs[i], ys[i]);
        }
        return b.build();
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    public boolean isEmpty() {
        return points.isEmpty();
    }

    /** Collects points one by one. */
    public static final class Builder {
        private final String name;
        private final List<Point> points = new ArrayList<>();
        private int nonFinite;

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        public Builder add(double x, double y) {
            if (Double.isFinite(x) && Double.isFinite(y)) {
                points.add(new Point(x, y));
            } else {
                nonFinite++;
            }
            return this;
        }

        public Series build() {
            return new Series(name, points, nonFinite);
        }
    }
}
