package io.kdstream.ops.report;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A horizontal bar chart of named counts rendered as an inline {@code <svg>}: one bar per category, the value written
 * next to it. An empty map renders a frame saying "none".
 */
public final class BarChart {

    private final String id;
    private final String title;
    private final Map<String, Long> values;
    private final String emptyText;
    private final int width;

    private BarChart(String id, String title, Map<String, Long> values, String emptyText, int width) {
        this.id = id;
        this.title = title;
        this.values = values;
        this.emptyText = emptyText;
        this.width = width;
    }

    /**
     * @param id        element id
     * @param title     chart title
     * @param values    category → count (insertion order is the drawing order); counts must be >= 0
     * @param emptyText what to write when there is no category
     */
    public static BarChart of(String id, String title, Map<String, Long> values, String emptyText) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(emptyText, "emptyText");
        if (!id.matches("[A-Za-z][A-Za-z0-9_-]*")) {
            throw new IllegalArgumentException("id must be a valid HTML id, got '" + id + "'");
        }
        Map<String, Long> copy = new LinkedHashMap<>();
        values.forEach((k, v) -> {
            if (v == null || v < 0) {
                throw new IllegalArgumentException("count of " + k + " must be >= 0, got " + v);
            }
            copy.put(Objects.requireNonNull(k, "category"), v);
        });
        return new BarChart(id, title, copy, emptyText, 1080);
    }

    public String render() {
        int rowHeight = 26;
        int top = 36;
        int labelWidth = 300;
        int rows = Math.max(1, values.size());
        int height = top + rows * rowHeight + 24;
        StringBuilder sb = new StringBuilder(1024);
        sb.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"kd-chart kd-bar-chart\" id=\"%s\" width=\"%d\" "
                        + "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">",
                Svg.escape(id), width, height, width, height, Svg.escape(title)));
        sb.append("<title>").append(Svg.escape(title)).append("</title>");
        sb.append("<rect x=\"0\" y=\"0\" width=\"").append(width).append("\" height=\"").append(height)
                .append("\" fill=\"#ffffff\"/>");
        sb.append("<text x=\"").append(width / 2).append("\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" "
                + "font-weight=\"bold\">").append(Svg.escape(title)).append("</text>");
        if (values.isEmpty()) {
            sb.append("<text class=\"kd-empty\" x=\"").append(width / 2).append("\" y=\"").append(top + 18)
                    .append("\" text-anchor=\"middle\" font-size=\"13\" fill=\"#666\">").append(Svg.escape(emptyText))
                    .append("</text></svg>");
            return sb.toString();
        }
        long max = Math.max(1, values.values().stream().mapToLong(Long::longValue).max().orElse(1));
        double barSpace = width - labelWidth - 90;
        int row = 0;
        for (Map.Entry<String, Long> e : values.entrySet()) {
            double y = top + row * rowHeight;
            double w = e.getValue() == 0 ? 0 : Math.max(2, barSpace * e.getValue() / max);
            sb.append("<g class=\"kd-bar\" data-category=\"").append(Svg.escape(e.getKey())).append("\" data-value=\"")
                    .append(e.getValue()).append("\">");
            sb.append("<text x=\"").append(labelWidth - 8).append("\" y=\"").append(Svg.coord(y + 17))
                    .append("\" text-anchor=\"end\" font-size=\"12\">").append(Svg.escape(e.getKey())).append("</text>");
            sb.append("<rect x=\"").append(labelWidth).append("\" y=\"").append(Svg.coord(y + 4)).append("\" width=\"")
                    .append(Svg.coord(w)).append("\" height=\"18\" fill=\"")
                    .append(LineChart.PALETTE[row % LineChart.PALETTE.length]).append("\"/>");
            sb.append("<text x=\"").append(Svg.coord(labelWidth + w + 6)).append("\" y=\"").append(Svg.coord(y + 17))
                    .append("\" font-size=\"12\">").append(String.format(Locale.ROOT, "%,d", e.getValue())).append("</text>");
            sb.append("</g>");
            row++;
        }
        sb.append("</svg>");
        return sb.toString();
    }
}
