package io.kdstream.ops.report;

import java.util.Locale;

/** Helpers for writing SVG and HTML text: escaping and compact number formatting. */
final class Svg {

    private Svg() {
    }

    /** Escapes text for an XML/HTML element body or a double-quoted attribute. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> {
                    // XML 1.0 forbids most control characters even when escaped: replace them
                    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
                        sb.append('\uFFFD');
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }

    /** A coordinate with at most two decimals and no trailing zeros. */
    static String coord(double v) {
        long hundredths = Math.round(v * 100);
        if (hundredths % 100 == 0) {
            return Long.toString(hundredths / 100);
        }
        return String.format(Locale.ROOT, "%.2f", hundredths / 100.0).replaceAll("0+$", "");
    }

    /** A value with four significant digits, without trailing zeros. */
    static String number(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        if (Math.rint(v) == v && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        String s = String.format(Locale.ROOT, "%.4g", v);
        if (s.contains("e")) {
            return s;
        }
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    /** A tick label: integers plainly, small and large magnitudes in scientific form, else up to four digits. */
    static String tick(double v, double step) {
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        if (a >= 1e6 || a < 1e-3) {
            return String.format(Locale.ROOT, "%.2g", v);
        }
        if (step >= 1 && Math.rint(v) == v) {
            return String.format(Locale.ROOT, "%,d", (long) v);
        }
        int decimals = step >= 1 ? 0 : Math.min(6, (int) Math.ceil(-Math.log10(step) - 1e-9));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
