package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.eval.Evaluation.Run;
import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Prover;
import dev.scythe.eval.Provers.Verdict;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The cactus plot (PNG and SVG) and the HTML report, from results built in memory: no prover runs here. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReportTest {
    /** A solver name that would be markup if it reached the report unescaped. */
    static final String HOSTILE = "<script>alert(1)</script>&\"x'.cnf";
    /** The same for a problem; a file name holds anything but '/', so this one opens a tag that needs no closing. */
    static final String HOSTILE_FILE = "<img src=x onerror=alert(1)>&\"x'.cnf";

    /**
     * Three provers on eight problems, and the portfolio: times from under a millisecond to near the timeout, unsolved
     * problems, a wrong answer (by the hostile solver on the hostile problem) and a crash (by the hostile solver).
     */
    static Evaluation evaluation() {
        List<Prover> provers = new ArrayList<>();
        for (String name : List.of("minisat", "cadical", HOSTILE)) {
            provers.add(new Prover(name, "cnf", List.of("true", "{file}"), "none", null));
        }
        List<Problem> problems = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            problems.add(new Problem(Path.of("corpus", i == 7 ? HOSTILE_FILE : "p" + i + ".cnf"), "cnf",
                    i % 2 == 0 ? Verdict.SAT : Verdict.UNSAT));
        }
        double[][] seconds = {
            {0.0004, 0.02, 0.3, 1.5, 4.0, 9.0, 11, 11},
            {0.002, 0.004, 0.9, 0.2, 11, 3.0, 7.5, 11},
            {0.05, 0.6, 2.0, 11, 0.01, 0.001, 11, 11},
        };
        List<Run> runs = new ArrayList<>();
        for (int p = 0; p < provers.size(); p++) {
            for (int i = 0; i < problems.size(); i++) {
                Problem problem = problems.get(i);
                boolean timedOut = seconds[p][i] > 10;
                runs.add(new Run(provers.get(p).name(), problem, timedOut ? Verdict.UNKNOWN : problem.status(),
                        Math.min(seconds[p][i], 10), timedOut, false));
            }
        }
        Problem lied = problems.get(7), crashedOn = problems.get(6);
        runs.set(2 * problems.size() + 7, new Run(HOSTILE, lied, Verdict.SAT, 0.1, false, false));
        runs.set(2 * problems.size() + 6, new Run(HOSTILE, crashedOn, Verdict.UNKNOWN, 0.2, false, true));
        for (int i = 0; i < problems.size(); i++) {
            Problem problem = problems.get(i);
            double best = Math.min(seconds[0][i], Math.min(seconds[1][i], seconds[2][i]));
            boolean timedOut = best > 10;
            runs.add(new Run(Evaluation.PORTFOLIO, problem, timedOut ? Verdict.UNKNOWN : problem.status(),
                    timedOut ? 10 : best * 1.3 + 0.01, timedOut, false));
        }
        return new Evaluation(problems, provers, Duration.ofSeconds(10), runs);
    }

    @Test
    void thePngIsAPngOfTheExpectedSize(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("cactus.png");
        new Report(evaluation()).png(png);
        byte[] bytes = Files.readAllBytes(png);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(bytes, 8));
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
        assertEquals(List.of(Report.W, Report.H), List.of(image.getWidth(), image.getHeight()));
        Set<Integer> colours = new HashSet<>();
        for (int x = 0; x < image.getWidth(); x += 3) {
            for (int y = 0; y < image.getHeight(); y += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 10, "a drawing, not a blank image: " + colours.size() + " colours");
    }

    @Test
    void theSvgIsWellFormedXmlWithOneSeriesPerSolver() throws Exception {
        Evaluation ev = evaluation();
        String svg = new Report(ev).svg();
        assertTrue(svg.startsWith("<svg"), svg.substring(0, Math.min(80, svg.length())));
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document doc = factory.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertEquals("svg", doc.getDocumentElement().getLocalName());
        assertEquals("http://www.w3.org/2000/svg", doc.getDocumentElement().getNamespaceURI());

        List<String> texts = new ArrayList<>();
        NodeList nodes = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "text");
        for (int i = 0; i < nodes.getLength(); i++) {
            texts.add(nodes.item(i).getTextContent());
        }
        // JFreeSVG draws each shape as <g style='stroke:rgb(r,g,b);...'><path d='M..L..L..'/></g>
        List<String> lines = new ArrayList<>();
        NodeList paths = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "path");
        for (int i = 0; i < paths.getLength(); i++) {
            var style = ((Element) paths.item(i).getParentNode()).getAttribute("style");
            long vertices = paths.item(i).getAttributes().getNamedItem("d").getNodeValue().chars()
                    .filter(ch -> ch == 'M' || ch == 'L').count();
            lines.add(style.replaceAll(".*(stroke:rgb\\([0-9,]+\\)).*", "$1") + " " + vertices);
        }
        List<String> solvers = ev.solvers();
        assertEquals(5, solvers.size(), solvers.toString());
        for (int i = 0; i < solvers.size(); i++) {
            String legend = solvers.get(i) + " (" + ev.score(solvers.get(i)).solved() + ")";
            assertEquals(1, texts.stream().filter(legend::equals).count(), "one legend entry '" + legend + "' in " + texts);
            var c = Report.color(i);
            String line = "stroke:rgb(" + c.getRed() + "," + c.getGreen() + "," + c.getBlue() + ") "
                    + ev.score(solvers.get(i)).solved();
            assertEquals(1, lines.stream().filter(line::equals).count(), "one line for " + solvers.get(i) + " in its "
                    + "colour through one point per problem solved (" + line + ") among " + lines);
        }
    }

    /** Regression: nothing solved, or a single problem solved (a line through one point), still draws a plot. */
    @Test
    void aPlotWithNothingOrOneProblemSolved(@TempDir Path dir) throws Exception {
        Prover only = new Prover("minisat", "cnf", List.of("true", "{file}"), "none", null);
        Problem p = new Problem(Path.of("p.cnf"), "cnf", Verdict.SAT);
        for (Verdict said : List.of(Verdict.UNKNOWN, Verdict.SAT)) {
            Evaluation ev = new Evaluation(List.of(p), List.of(only), Duration.ofSeconds(1),
                    List.of(new Run("minisat", p, said, 0.5, said == Verdict.UNKNOWN, false),
                            new Run(Evaluation.PORTFOLIO, p, said, 0.6, said == Verdict.UNKNOWN, false)));
            new Report(ev).write(dir);
            assertEquals(Report.W, ImageIO.read(dir.resolve("cactus.png").toFile()).getWidth());
            assertTrue(Files.readString(dir.resolve("cactus.svg")).contains("virtual best ("
                    + (said == Verdict.SAT ? 1 : 0) + ")"));
        }
    }

    @Test
    void escapeReplacesTheFiveCharactersOfMarkup() {
        assertEquals("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x&#39;.cnf", Report.escape(HOSTILE));
        assertEquals("plain text, 1 s", Report.escape("plain text, 1 s"));
        assertEquals("&amp;amp;", Report.escape("&amp;"), "text that looks escaped is text too");
    }

    /** Regression: names from the corpus and from prover definitions went into report.html as markup. */
    @Test
    void theHtmlReportEscapesHostileNames(@TempDir Path dir) throws Exception {
        new Report(evaluation()).write(dir);
        String html = Files.readString(dir.resolve("report.html"));
        String solver = Report.escape(HOSTILE), problem = Report.escape(HOSTILE_FILE);
        assertTrue(html.contains("<td>" + solver + "</td>"), "the results table names the solver, escaped");
        assertTrue(html.contains("<li>" + solver + " said SAT on " + problem + " (stated: UNSAT)</li>"),
                "the wrong answer, escaped:\n" + html);
        assertTrue(html.contains("<li>" + solver + " on p6.cnf</li>"), "the crash, escaped:\n" + html);
        String lower = html.toLowerCase(Locale.ROOT);
        for (String raw : List.of("<script", "</script", "<img", HOSTILE, HOSTILE_FILE)) {
            assertFalse(lower.contains(raw.toLowerCase(Locale.ROOT)), "raw '" + raw + "' in the report");
        }
        assertTrue(html.contains("<svg") && html.contains("</svg>"), "the cactus plot is in the report");
    }
}
