package dev.scythe.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Rectangle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * The pictures people expect from a solver evaluation: a cactus plot and an HTML report. The plot is defined once, as
 * a JFreeChart, and rendered twice: to PNG (ChartUtils) and to SVG (JFreeSVG).
 */
public final class Report {
    static {
        // the plot is drawn into an image or an SVG document, never onto a screen
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    static final int W = 900, H = 560;
    private static final double FASTEST = 0.001;
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
        new Color(0xd62728), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
        new Color(0xbcbd22), new Color(0x17becf), Color.BLACK, new Color(0x444444)};

    private final Evaluation e;

    public Report(Evaluation e) {
        this.e = e;
    }

    /** Per solver, its solve times sorted: the k-th value is the time it needed for its k-th fastest solved problem. */
    private List<double[]> curves() {
        List<double[]> out = new ArrayList<>();
        for (String s : e.solvers()) {
            out.add(e.runsOf(s).stream().filter(Evaluation.Run::solved).mapToDouble(Evaluation.Run::seconds).sorted()
                    .toArray());
        }
        return out;
    }

    /** The series colour of the i-th solver in {@link Evaluation#solvers()} order. */
    static Color color(int i) {
        return COLORS[i % COLORS.length];
    }

    /**
     * The cactus plot: x the number of problems solved, y (log, from 1 ms to the timeout) the time per problem; one
     * series per solver in {@link Evaluation#solvers()} order, the portfolio and the virtual best drawn bold, the
     * virtual best dashed. The legend gives each solver's number of problems solved.
     */
    JFreeChart chart() {
        List<String> names = e.solvers();
        List<double[]> curves = curves();
        XYSeriesCollection data = new XYSeriesCollection();
        double slowest = 0;
        for (int i = 0; i < names.size(); i++) {
            XYSeries series = new XYSeries(names.get(i), false, false);
            double[] c = curves.get(i);
            for (int k = 0; k < c.length; k++) {
                // a log axis has no zero: a run faster than 1 ms is drawn at 1 ms
                series.add(k + 1, Math.max(FASTEST, c[k]));
                slowest = Math.max(slowest, c[k]);
            }
            data.addSeries(series);
        }
        double timeout = e.timeout().toNanos() / 1e9;

        NumberAxis x = new NumberAxis("problems solved");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        x.setRange(0, Math.max(1, curves.stream().mapToInt(c -> c.length).max().orElse(1)));
        // log scale from 1 ms to the timeout: solvers differ by orders of magnitude
        LogAxis y = new LogAxis("time per problem (log)");
        // a hair below 1 ms, or the rounding in log10(0.001) leaves out the 1 ms tick
        y.setRange(FASTEST * 0.999, Math.max(0.01, Math.max(timeout, slowest)));
        // a major tick per decade, minor ticks at 2..9 times it
        y.setTickUnit(new NumberTickUnit(1, new SecondsFormat(), 9));
        y.setNumberFormatOverride(new SecondsFormat());
        y.setMinorTickMarksVisible(true);

        XYLineAndShapeRenderer lines = new XYLineAndShapeRenderer(true, false);
        lines.setDrawSeriesLineAsPath(true);
        lines.setLegendItemLabelGenerator((dataset, series) -> dataset.getSeriesKey(series) + " ("
                + dataset.getItemCount(series) + ")");
        for (int i = 0; i < names.size(); i++) {
            boolean vbs = names.get(i).equals(Evaluation.VBS);
            boolean bold = !e.isProver(names.get(i));
            lines.setSeriesPaint(i, color(i));
            lines.setSeriesStroke(i, vbs ? new BasicStroke(3f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
                    new float[] {6f, 4f}, 0f) : new BasicStroke(bold ? 3f : 1.2f));
            // one problem solved is one point, and a line through one point is invisible
            lines.setSeriesShapesVisible(i, curves.get(i).length == 1);
        }

        XYPlot plot = new XYPlot(data, x, y, lines);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setOutlineVisible(false);
        BasicStroke thin = new BasicStroke(1f);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlineStroke(thin);
        plot.setRangeGridlinePaint(new Color(0xe6e6e6));
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        for (var axis : List.of(x, y)) {
            axis.setLabelFont(font);
            axis.setTickLabelFont(font);
            axis.setAxisLinePaint(Color.BLACK);
            axis.setAxisLineStroke(thin);
            axis.setTickMarkPaint(Color.BLACK);
            axis.setTickMarkStroke(thin);
            axis.setTickMarkOutsideLength(4);
            axis.setMinorTickMarkOutsideLength(2);
            // JFreeChart places tick labels by these insets alone, as if tick marks had no length
            axis.setTickLabelInsets(new RectangleInsets(4, 8, 4, 8));
        }
        JFreeChart chart = new JFreeChart(null, font, plot, true);
        chart.setTitle(new TextTitle(String.format(Locale.ROOT, "Problems solved against time (per-problem timeout "
                + "%s s)", e.timeout().toMillis() / 1000.0), new Font(Font.SANS_SERIF, Font.PLAIN, 15)));
        chart.setBackgroundPaint(Color.WHITE);
        chart.getLegend().setPosition(RectangleEdge.RIGHT);
        chart.getLegend().setItemFont(font);
        return chart;
    }

    /** The cactus plot as one {@code <svg>} element (a complete SVG file, and embeddable in HTML as it is). */
    public String svg() {
        SVGGraphics2D g = new SVGGraphics2D(W, H);
        chart().draw(g, new Rectangle(0, 0, W, H));
        return g.getSVGElement() + "\n";
    }

    /** The cactus plot as a PNG of {@value #W} x {@value #H} pixels. */
    public void png(Path file) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), chart(), W, H);
    }

    /** Tick labels of the time axis: 1 ms, 10 ms, 100 ms, 1 s, 10 s. */
    private static final class SecondsFormat extends NumberFormat {
        @Override
        public StringBuffer format(double seconds, StringBuffer to, FieldPosition pos) {
            return to.append(seconds < 1 ? String.format(Locale.ROOT, "%.0f ms", seconds * 1000)
                    : String.format(Locale.ROOT, "%.0f s", seconds));
        }

        @Override
        public StringBuffer format(long seconds, StringBuffer to, FieldPosition pos) {
            return format((double) seconds, to, pos);
        }

        @Override
        public Number parse(String source, ParsePosition pos) {
            throw new UnsupportedOperationException("tick labels are only written");
        }
    }

    /** Text made safe to put into HTML, as element content or as an attribute value in either kind of quotes. */
    static String escape(String text) {
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static String escape(Object o) {
        return escape(String.valueOf(o));
    }

    /**
     * The report: the results table, the wrong answers and crashes, and the cactus plot. Every piece of text in it is
     * escaped; {@code svg} is markup, the plot from {@link #svg()}, and goes in as it is.
     */
    public String html(String svg) {
        StringBuilder rows = new StringBuilder();
        for (String s : e.solvers()) {
            Evaluation.Score sc = e.score(s);
            rows.append(String.format(Locale.ROOT, "<tr%s><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td>"
                    + "<td%s>%d</td><td%s>%d</td><td>%.2f</td></tr>%n", e.isProver(s) ? "" : " class='p'",
                    escape(s), sc.problems(), sc.solved(), sc.timeouts(), sc.crashed(),
                    sc.wrong() > 0 ? " class='wrong'" : "", sc.wrong(), sc.conflicts() > 0 ? " class='wrong'" : "",
                    sc.conflicts(), sc.par2()));
        }
        StringBuilder wrong = new StringBuilder(), crashed = new StringBuilder();
        for (Evaluation.Run r : e.runs()) {
            if (r.wrong()) {
                wrong.append("<li>").append(escape(r.solver())).append(" said ").append(escape(r.verdict()))
                        .append(" on ").append(escape(r.problem().name())).append(r.certificate()
                                == Certificates.Check.Kind.REFUTED ? " (its model does not satisfy the problem)"
                                : " (" + (r.problem().status() == r.truth() ? "stated" : "settled by a checked model")
                                        + ": " + escape(r.truth()) + ")").append("</li>\n");
            }
            if (r.crashed()) {
                crashed.append("<li>").append(escape(r.solver())).append(" on ").append(escape(r.problem().name()))
                        .append("</li>\n");
            }
        }
        StringBuilder conflicts = new StringBuilder();
        for (Evaluation.Conflict c : e.conflicts()) {
            conflicts.append("<li>").append(escape(c.problem().name())).append(": ");
            conflicts.append(String.join("; ", c.answers().entrySet().stream().map(a -> escape(String.join(", ",
                    a.getValue())) + " said " + escape(a.getKey())).toList())).append("</li>\n");
        }
        return "<!doctype html><html><head><meta charset='utf-8'><title>Scythe evaluation</title><style>"
                + "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
                + "padding:4px 10px;text-align:right}td:first-child{text-align:left}.p{font-weight:bold}"
                + ".wrong{color:#c00;font-weight:bold}</style></head><body>\n<h1>Scythe: provers alone, the portfolio, "
                + "and the virtual best solver</h1>\n<p>" + escape(ZonedDateTime.now()) + "; per-problem timeout "
                + escape(e.timeout().toMillis() / 1000.0) + " s. PAR-2: mean time per problem, counting an unsolved "
                + "problem as twice the timeout. The virtual best solver takes, per problem, the fastest correct prover "
                + "alone: the limit any portfolio can reach. A wrong answer is never counted as solved. A problem with no stated "
                + "status is judged by its answers: a checked model settles a satisfiable answer, and provers that "
                + "disagree make a conflict, solved by nobody.</p>\n"
                + "<table><tr><th>solver</th><th>problems</th><th>solved</th><th>timeouts</th><th>crashed</th>"
                + "<th>wrong</th><th>conflicts</th><th>PAR-2 (s)</th></tr>\n" + rows + "</table>\n"
                + (wrong.isEmpty() ? "<p>No wrong answers.</p>" : "<h2>Wrong answers</h2><ul>" + wrong + "</ul>")
                + (conflicts.isEmpty() ? "" : "<h2>Conflicts</h2><p>Problems of unknown status on which provers "
                        + "disagree, with no checked model to settle it.</p><ul>" + conflicts + "</ul>")
                + (crashed.isEmpty() ? "" : "<h2>Crashes</h2><p>Provers killed by a signal Scythe did not send (an "
                        + "abort, a segmentation fault); in the portfolio the other entrants race on.</p><ul>" + crashed
                        + "</ul>")
                + "\n<h2>Cactus plot</h2>\n" + svg + "</body></html>\n";
    }

    /** Writes cactus.svg, cactus.png and report.html into dir. */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        String svg = svg();
        Files.writeString(dir.resolve("cactus.svg"), svg);
        png(dir.resolve("cactus.png"));
        Files.writeString(dir.resolve("report.html"), html(svg));
    }
}
