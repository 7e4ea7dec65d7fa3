package dev.scythe.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** The pictures people expect from a solver evaluation: a cactus plot (SVG and PNG) and an HTML report. */
public final class Report {
    private static final int W = 900, H = 560, L = 70, R = 190, T = 40, B = 60;
    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#444444"};

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

    private int maxSolved(List<double[]> curves) {
        return Math.max(1, curves.stream().mapToInt(c -> c.length).max().orElse(1));
    }

    private double x(int k, int n) {
        return L + (W - L - R) * (double) k / n;
    }

    private double y(double seconds) {
        // log scale from 1 ms to the timeout: solvers differ by orders of magnitude
        double lo = Math.log10(0.001), hi = Math.log10(Math.max(0.01, e.timeout().toNanos() / 1e9));
        double v = Math.log10(Math.max(0.001, seconds));
        return T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    }

    public String svg() {
        List<double[]> curves = curves();
        int n = maxSolved(curves);
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' font-size='12'>%n"
                        + "<rect width='100%%' height='100%%' fill='white'/>%n", W, H));
        b.append(String.format(Locale.ROOT, "<text x='%d' y='24' font-size='15'>Problems solved against time (per-problem "
                + "timeout %s s)</text>%n", L, e.timeout().toMillis() / 1000.0));
        b.append(String.format(Locale.ROOT, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>%n", L, H - B, W - R, H - B));
        b.append(String.format(Locale.ROOT, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>%n", L, T, L, H - B));
        for (double s = 0.001; s <= e.timeout().toNanos() / 1e9 * 1.0001; s *= 10) {
            b.append(String.format(Locale.ROOT, "<text x='%d' y='%.1f' text-anchor='end'>%s</text>%n", L - 6, y(s) + 4,
                    s < 1 ? String.format(Locale.ROOT, "%.0f ms", s * 1000) : String.format(Locale.ROOT, "%.0f s", s)));
        }
        for (int k = 0; k <= n; k += Math.max(1, n / 10)) {
            b.append(String.format(Locale.ROOT, "<text x='%.1f' y='%d' text-anchor='middle'>%d</text>%n", x(k, n), H - B + 18, k));
        }
        b.append(String.format(Locale.ROOT, "<text x='%d' y='%d' text-anchor='middle'>problems solved</text>%n",
                (L + W - R) / 2, H - 15));
        b.append(String.format(Locale.ROOT, "<text x='16' y='%d' transform='rotate(-90 16 %d)' text-anchor='middle'>time "
                + "per problem (log)</text>%n", (T + H - B) / 2, (T + H - B) / 2));
        List<String> names = e.solvers();
        for (int i = 0; i < names.size(); i++) {
            double[] c = curves.get(i);
            String color = COLORS[i % COLORS.length];
            boolean bold = names.get(i).equals(Evaluation.PORTFOLIO) || names.get(i).equals(Evaluation.VBS);
            StringBuilder pts = new StringBuilder();
            for (int k = 0; k < c.length; k++) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(k + 1, n), y(c[k])));
            }
            b.append(String.format(Locale.ROOT, "<polyline fill='none' stroke='%s' stroke-width='%d'%s points='%s'/>%n",
                    color, bold ? 3 : 1, names.get(i).equals(Evaluation.VBS) ? " stroke-dasharray='6 4'" : "", pts));
            int ly = T + 10 + i * 18;
            b.append(String.format(Locale.ROOT, "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='%s' stroke-width='%d'/>"
                    + "<text x='%d' y='%d'>%s (%d)</text>%n", W - R + 15, ly, W - R + 40, ly, color, bold ? 3 : 1,
                    W - R + 46, ly + 4, names.get(i), c.length));
        }
        return b.append("</svg>\n").toString();
    }

    public void png(Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<double[]> curves = curves();
        int n = maxSolved(curves);
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        g.drawString("Problems solved against time (per-problem timeout " + e.timeout().toMillis() / 1000.0 + " s)", L, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawLine(L, H - B, W - R, H - B);
        g.drawLine(L, T, L, H - B);
        for (double s = 0.001; s <= e.timeout().toNanos() / 1e9 * 1.0001; s *= 10) {
            String label = s < 1 ? String.format(Locale.ROOT, "%.0f ms", s * 1000) : String.format(Locale.ROOT, "%.0f s", s);
            g.drawString(label, L - 8 - g.getFontMetrics().stringWidth(label), (int) y(s) + 4);
        }
        for (int k = 0; k <= n; k += Math.max(1, n / 10)) {
            g.drawString(Integer.toString(k), (int) x(k, n) - 4, H - B + 18);
        }
        g.drawString("problems solved", (L + W - R) / 2 - 45, H - 15);
        List<String> names = e.solvers();
        for (int i = 0; i < names.size(); i++) {
            double[] c = curves.get(i);
            boolean bold = names.get(i).equals(Evaluation.PORTFOLIO) || names.get(i).equals(Evaluation.VBS);
            g.setColor(Color.decode(COLORS[i % COLORS.length]));
            g.setStroke(new BasicStroke(bold ? 3f : 1.2f));
            for (int k = 1; k < c.length; k++) {
                g.drawLine((int) x(k, n), (int) y(c[k - 1]), (int) x(k + 1, n), (int) y(c[k]));
            }
            int ly = T + 10 + i * 18;
            g.drawLine(W - R + 15, ly, W - R + 40, ly);
            g.setColor(Color.BLACK);
            g.drawString(names.get(i) + " (" + c.length + ")", W - R + 46, ly + 4);
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    public String html(String svg) {
        StringBuilder rows = new StringBuilder();
        for (String s : e.solvers()) {
            Evaluation.Score sc = e.score(s);
            rows.append(String.format(Locale.ROOT, "<tr%s><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td>"
                    + "<td%s>%d</td><td>%.2f</td></tr>%n", s.equals(Evaluation.PORTFOLIO) ? " class='p'" : "", s,
                    sc.problems(), sc.solved(), sc.timeouts(), sc.crashed(), sc.wrong() > 0 ? " class='wrong'" : "",
                    sc.wrong(), sc.par2()));
        }
        StringBuilder wrong = new StringBuilder(), crashed = new StringBuilder();
        for (Evaluation.Run r : e.runs()) {
            if (r.wrong()) {
                wrong.append("<li>").append(r.solver()).append(" said ").append(r.verdict()).append(" on ")
                        .append(r.problem().name()).append(" (known: ").append(r.problem().status()).append(")</li>\n");
            }
            if (r.crashed()) {
                crashed.append("<li>").append(r.solver()).append(" on ").append(r.problem().name()).append("</li>\n");
            }
        }
        return "<!doctype html><html><head><meta charset='utf-8'><title>Scythe evaluation</title><style>"
                + "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
                + "padding:4px 10px;text-align:right}td:first-child{text-align:left}.p{font-weight:bold}"
                + ".wrong{color:#c00;font-weight:bold}</style></head><body>\n<h1>Scythe: provers alone, the portfolio, "
                + "and the virtual best solver</h1>\n<p>" + ZonedDateTime.now() + "; per-problem timeout "
                + e.timeout().toMillis() / 1000.0 + " s. PAR-2: mean time per problem, counting an unsolved problem "
                + "as twice the timeout. The virtual best solver takes, per problem, the fastest correct prover alone: "
                + "the limit any portfolio can reach. A wrong answer is never counted as solved.</p>\n"
                + "<table><tr><th>solver</th><th>problems</th><th>solved</th><th>timeouts</th><th>crashed</th>"
                + "<th>wrong</th><th>PAR-2 (s)</th></tr>\n" + rows + "</table>\n"
                + (wrong.isEmpty() ? "<p>No wrong answers.</p>" : "<h2>Wrong answers</h2><ul>" + wrong + "</ul>")
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
