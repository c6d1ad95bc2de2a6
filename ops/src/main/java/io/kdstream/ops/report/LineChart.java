package io.kdstream.ops.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A line chart rendered as a standalone inline {@code <svg>} element: axes with nice ticks, one polyline per series
 * (markers on short series), optional horizontal guide lines, and a legend. No scripts, no external resources.
 *
 * <p>Long series are thinned for drawing to at most {@value #MAX_DRAWN_POINTS} points (the first and last points are
 * always kept); the {@code data-points} attribute of each series group holds the number of points the series had.
 */
public final class LineChart {

    static final int MAX_DRAWN_POINTS = 800;
    private static final int MARKER_LIMIT = 80;
    static final String[] PALETTE = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
        "#7f7f7f", "#bcbd22", "#17becf"};

    private final String id;
    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series;
    private final List<Guide> guides;
    private final int width;
    private final int height;

    /** A horizontal reference line, e.g. a threshold. */
    public record Guide(String label, double y) {
        public Guide {
            Objects.requireNonNull(label, "label");
            if (!Double.isFinite(y)) {
                throw new IllegalArgumentException("guide must be finite, got " + y);
            }
        }
    }

    private LineChart(Builder b) {
        this.id = b.id;
        this.title = b.title;
        this.xLabel = b.xLabel;
        this.yLabel = b.yLabel;
        this.series = List.copyOf(b.series);
        this.guides = List.copyOf(b.guides);
        this.width = b.width;
        this.height = b.height;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The {@code <svg>} element. */
    public String render() {
        int left = 64;
        int right = 16;
        int top = 36;
        int legendRows = (series.size() + guides.size() + 2) / 3;
        int bottom = 48 + 18 * Math.max(1, legendRows);
        double plotLeft = left;
        double plotRight = width - right;
        double plotTop = top;
        double plotBottom = height - bottom;

        StringBuilder sb = new StringBuilder(4096);
        sb.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"kd-chart kd-line-chart\" id=\"%s\" width=\"%d\" "
                        + "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">",
                Svg.escape(id), width, height, width, height, Svg.escape(title)));
        sb.append("<title>").append(Svg.escape(title)).append("</title>");
        sb.append("<rect x=\"0\" y=\"0\" width=\"").append(width).append("\" height=\"").append(height)
                .append("\" fill=\"#ffffff\"/>");
        sb.append("<text x=\"").append(width / 2).append("\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" "
                + "font-weight=\"bold\">").append(Svg.escape(title)).append("</text>");

        List<Series> drawable = series.stream().filter(s -> !s.isEmpty()).toList();
        if (drawable.isEmpty()) {
            sb.append("<rect class=\"kd-frame\" x=\"").append(Svg.coord(plotLeft)).append("\" y=\"").append(Svg.coord(plotTop))
                    .append("\" width=\"").append(Svg.coord(plotRight - plotLeft)).append("\" height=\"")
                    .append(Svg.coord(plotBottom - plotTop)).append("\" fill=\"none\" stroke=\"#999\"/>");
            sb.append("<text class=\"kd-empty\" x=\"").append(width / 2).append("\" y=\"")
                    .append(Svg.coord((plotTop + plotBottom) / 2)).append("\" text-anchor=\"middle\" font-size=\"13\" "
                            + "fill=\"#666\">no data</text></svg>");
            return sb.toString();
        }

        double xLo = Double.POSITIVE_INFINITY;
        double xHi = Double.NEGATIVE_INFINITY;
        double yLo = Double.POSITIVE_INFINITY;
        double yHi = Double.NEGATIVE_INFINITY;
        for (Series s : drawable) {
            for (Series.Point p : s.points()) {
                xLo = Math.min(xLo, p.x());
                xHi = Math.max(xHi, p.x());
                yLo = Math.min(yLo, p.y());
                yHi = Math.max(yHi, p.y());
            }
        }
        for (Guide g : guides) {
            yLo = Math.min(yLo, g.y());
            yHi = Math.max(yHi, g.y());
        }
        Axis x = Axis.covering(xLo, xHi, 8);
        Axis y = Axis.covering(yLo, yHi, 6);

        Plot plot = new Plot(plotLeft, plotRight, plotTop, plotBottom);
        appendAxes(sb, plot, x, y);
        appendGuides(sb, plot, y);
        appendSeries(sb, plot, x, y);
        appendLegend(sb, plot);
        sb.append("</g></svg>");
        return sb.toString();
    }

    /** The plot area, in SVG coordinates. */
    private record Plot(double left, double right, double top, double bottom) {
    }

    /** Grid, ticks, frame and axis labels. */
    private void appendAxes(StringBuilder sb, Plot plot, Axis x, Axis y) {
        double plotLeft = plot.left();
        double plotRight = plot.right();
        double plotTop = plot.top();
        double plotBottom = plot.bottom();
        // grid and ticks
        sb.append("<g class=\"kd-axes\" font-size=\"11\" fill=\"#333\">");
        for (double t : y.ticks()) {
            double py = y.scale(t, plotBottom, plotTop);
            sb.append("<line x1=\"").append(Svg.coord(plotLeft)).append("\" x2=\"").append(Svg.coord(plotRight))
                    .append("\" y1=\"").append(Svg.coord(py)).append("\" y2=\"").append(Svg.coord(py))
                    .append("\" stroke=\"#e5e5e5\"/>");
            sb.append("<text x=\"").append(Svg.coord(plotLeft - 6)).append("\" y=\"").append(Svg.coord(py + 4))
                    .append("\" text-anchor=\"end\">").append(Svg.escape(Svg.tick(t, y.step()))).append("</text>");
        }
        for (double t : x.ticks()) {
            double px = x.scale(t, plotLeft, plotRight);
            sb.append("<line x1=\"").append(Svg.coord(px)).append("\" x2=\"").append(Svg.coord(px))
                    .append("\" y1=\"").append(Svg.coord(plotBottom)).append("\" y2=\"").append(Svg.coord(plotBottom + 4))
                    .append("\" stroke=\"#333\"/>");
            sb.append("<text x=\"").append(Svg.coord(px)).append("\" y=\"").append(Svg.coord(plotBottom + 17))
                    .append("\" text-anchor=\"middle\">").append(Svg.escape(Svg.tick(t, x.step()))).append("</text>");
        }
        sb.append("<rect class=\"kd-frame\" x=\"").append(Svg.coord(plotLeft)).append("\" y=\"").append(Svg.coord(plotTop))
                .append("\" width=\"").append(Svg.coord(plotRight - plotLeft)).append("\" height=\"")
                .append(Svg.coord(plotBottom - plotTop)).append("\" fill=\"none\" stroke=\"#333\"/>");
        sb.append("<text x=\"").append(Svg.coord((plotLeft + plotRight) / 2)).append("\" y=\"")
                .append(Svg.coord(plotBottom + 34)).append("\" text-anchor=\"middle\" font-size=\"12\">")
                .append(Svg.escape(xLabel)).append("</text>");
        sb.append("<text x=\"14\" y=\"").append(Svg.coord((plotTop + plotBottom) / 2))
                .append("\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 ")
                .append(Svg.coord((plotTop + plotBottom) / 2)).append(")\">").append(Svg.escape(yLabel)).append("</text>");
        sb.append("</g>");

    }

    /** The dashed horizontal guide lines. */
    private void appendGuides(StringBuilder sb, Plot plot, Axis y) {
        double plotLeft = plot.left();
        double plotRight = plot.right();
        double plotTop = plot.top();
        double plotBottom = plot.bottom();
        // guides
        for (int i = 0; i < guides.size(); i++) {
            Guide g = guides.get(i);
            double py = y.scale(g.y(), plotBottom, plotTop);
            sb.append("<line class=\"kd-guide\" x1=\"").append(Svg.coord(plotLeft)).append("\" x2=\"")
                    .append(Svg.coord(plotRight)).append("\" y1=\"").append(Svg.coord(py)).append("\" y2=\"")
                    .append(Svg.coord(py)).append("\" stroke=\"#888\" stroke-dasharray=\"6 4\"/>");
        }

    }

    /** One polyline per series (thinned), with point markers for short series. */
    private void appendSeries(StringBuilder sb, Plot plot, Axis x, Axis y) {
        double plotLeft = plot.left();
        double plotRight = plot.right();
        double plotTop = plot.top();
        double plotBottom = plot.bottom();
        // series
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            if (s.isEmpty()) {
                continue;
            }
            String color = PALETTE[i % PALETTE.length];
            List<Series.Point> drawn = thin(s.points(), MAX_DRAWN_POINTS);
            sb.append("<g class=\"kd-series\" data-series=\"").append(Svg.escape(s.name())).append("\" data-points=\"")
                    .append(s.points().size()).append("\" data-non-finite=\"").append(s.nonFinite()).append("\">");
            StringBuilder pts = new StringBuilder(drawn.size() * 12);
            for (Series.Point p : drawn) {
                if (pts.length() > 0) {
                    pts.append(' ');
                }
                pts.append(Svg.coord(x.scale(p.x(), plotLeft, plotRight))).append(',')
                        .append(Svg.coord(y.scale(p.y(), plotBottom, plotTop)));
            }
            sb.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.6\" points=\"")
                    .append(pts).append("\"/>");
            if (s.points().size() <= MARKER_LIMIT) {
                for (Series.Point p : s.points()) {
                    sb.append("<circle class=\"kd-point\" r=\"2.8\" fill=\"").append(color).append("\" cx=\"")
                            .append(Svg.coord(x.scale(p.x(), plotLeft, plotRight))).append("\" cy=\"")
                            .append(Svg.coord(y.scale(p.y(), plotBottom, plotTop))).append("\"/>");
                }
            }
            sb.append("</g>");
        }

    }

    /** The legend below the plot, three entries a row (its group stays open: the caller closes it). */
    private void appendLegend(StringBuilder sb, Plot plot) {
        double plotLeft = plot.left();
        double plotRight = plot.right();
        double plotBottom = plot.bottom();
        // legend
        sb.append("<g class=\"kd-legend\" font-size=\"12\">");
        int col = 0;
        int row = 0;
        double legendTop = plotBottom + 44;
        double colWidth = (plotRight - plotLeft) / 3;
        List<String[]> entries = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            String label = s.name() + (s.isEmpty() ? " (no data)" : "")
                    + (s.nonFinite() > 0 ? " (" + s.nonFinite() + " non-finite not drawn)" : "");
            entries.add(new String[] {PALETTE[i % PALETTE.length], label, "solid"});
        }
        for (Guide g : guides) {
            entries.add(new String[] {"#888", g.label() + " = " + Svg.number(g.y()), "dash"});
        }
        for (String[] e : entries) {
            double lx = plotLeft + col * colWidth;
            double ly = legendTop + row * 18;
            sb.append("<line x1=\"").append(Svg.coord(lx)).append("\" x2=\"").append(Svg.coord(lx + 18)).append("\" y1=\"")
                    .append(Svg.coord(ly - 4)).append("\" y2=\"").append(Svg.coord(ly - 4)).append("\" stroke=\"")
                    .append(e[0]).append("\" stroke-width=\"3\"")
                    .append("dash".equals(e[2]) ? " stroke-dasharray=\"6 4\"" : "").append("/>");
            sb.append("<text x=\"").append(Svg.coord(lx + 24)).append("\" y=\"").append(Svg.coord(ly)).append("\">")
                    .append(Svg.escape(e[1])).append("</text>");
            if (++col == 3) {
                col = 0;
                row++;
            }
        }
    }

    /** At most {@code max} points at an even stride, always keeping the first and the last. */
    static List<Series.Point> thin(List<Series.Point> points, int max) {
        if (points.size() <= max) {
            return points;
        }
        List<Series.Point> out = new ArrayList<>(max);
        double stride = (points.size() - 1) / (double) (max - 1);
        for (int i = 0; i < max; i++) {
            out.add(points.get((int) Math.round(i * stride)));
        }
        return out;
    }

    /** Builds a {@link LineChart}: {@code setId} and {@code setTitle} are required. */
    public static final class Builder {
        private String id;
        private String title;
        private String xLabel = "";
        private String yLabel = "";
        private final List<Series> series = new ArrayList<>();
        private final List<Guide> guides = new ArrayList<>();
        private int width = 1080;
        private int height = 380;

        private Builder() {
        }

        /** Element id, unique within the page. */
        public Builder setId(String id) {
            this.id = id;
            return this;
        }

        public Builder setTitle(String title) {
            this.title = title;
            return this;
        }

        public Builder optAxisLabels(String x, String y) {
            this.xLabel = Objects.requireNonNull(x, "x");
            this.yLabel = Objects.requireNonNull(y, "y");
            return this;
        }

        public Builder addSeries(Series s) {
            series.add(Objects.requireNonNull(s, "series"));
            return this;
        }

        public Builder addSeries(List<Series> s) {
            s.forEach(this::addSeries);
            return this;
        }

        public Builder addGuide(String label, double y) {
            guides.add(new Guide(label, y));
            return this;
        }

        public Builder optSize(int w, int h) {
            this.width = w;
            this.height = h;
            return this;
        }

        public LineChart build() {
            Objects.requireNonNull(id, "setId is required");
            Objects.requireNonNull(title, "setTitle is required");
            if (!id.matches("[A-Za-z][A-Za-z0-9_-]*")) {
                throw new IllegalArgumentException("id must be a valid HTML id, got '" + id + "'");
            }
            if (width < 200 || height < 150) {
                throw new IllegalArgumentException("chart must be at least 200x150, got " + width + "x" + height);
            }
            return new LineChart(this);
        }
    }
}
