package io.kdstream.trainer.loss;

/** Plain double-precision formulas the DJL losses are checked against. */
final class Reference {
    private Reference() {
    }

    static double[] softmax(double[] z, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v / t);
        }
        double sum = 0;
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] / t - max);
            sum += p[i];
        }
        for (int i = 0; i < z.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    static double kl(double[] p, double[] q) {
        double s = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                s += p[i] * Math.log(p[i] / q[i]);
            }
        }
        return s;
    }

    static double crossEntropy(double[][] z, int[] y) {
        double s = 0;
        for (int i = 0; i < z.length; i++) {
            s -= Math.log(softmax(z[i], 1)[y[i]]);
        }
        return s / z.length;
    }

    static double hinton(double[][] s, double[][] t, double temp, boolean forward) {
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            double[] ps = softmax(s[i], temp);
            double[] pt = softmax(t[i], temp);
            sum += forward ? kl(pt, ps) : kl(ps, pt);
        }
        return temp * temp * sum / s.length;
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    static double binaryKd(double[][] s, double[][] t, double temp) {
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            for (int c = 0; c < s[i].length; c++) {
                double pt = sigmoid(t[i][c] / temp);
                double ps = sigmoid(s[i][c] / temp);
                sum += pt * Math.log(pt / ps) + (1 - pt) * Math.log((1 - pt) / (1 - ps));
            }
        }
        return temp * temp * sum / s.length;
    }

    static double[] standardize(double[] z, double eps) {
        double mean = 0;
        for (double v : z) {
            mean += v;
        }
        mean /= z.length;
        double var = 0;
        for (double v : z) {
            var += (v - mean) * (v - mean);
        }
        double std = Math.sqrt(var / z.length);
        double[] out = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            out[i] = (z[i] - mean) / (std + eps);
        }
        return out;
    }

    static double dkd(double[][] s, double[][] t, int[] y, double alpha, double beta, double temp) {
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            double[] ps = softmax(s[i], temp);
            double[] pt = softmax(t[i], temp);
            double bs = ps[y[i]];
            double bt = pt[y[i]];
            double tckd = bt * Math.log(bt / bs) + (1 - bt) * Math.log((1 - bt) / (1 - bs));
            // non-target distributions: renormalised probabilities of the other classes
            double nckd = 0;
            for (int c = 0; c < s[i].length; c++) {
                if (c != y[i]) {
                    double qt = pt[c] / (1 - bt);
                    double qs = ps[c] / (1 - bs);
                    nckd += qt * Math.log(qt / qs);
                }
            }
            sum += alpha * tckd + beta * nckd;
        }
        return temp * temp * sum / s.length;
    }
}
