package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Checkout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every ```java snippet of the README and docs/ compiles against the library (tested here, on the class path) (regression: the README's first
 * example, a switch over Outcome, did not). Each snippet becomes the body of a method that may use a
 * {@code supervisor}, unless it opens its own.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DocsSnippetsTest {
    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    @Test
    void everyJavaSnippetCompiles(@TempDir Path out) throws Exception {
        List<Path> docs = new ArrayList<>(List.of(Checkout.resolve("README.md")));
        try (Stream<Path> md = Files.list(Checkout.resolve("docs"))) {
            md.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        List<JavaFileObject> sources = new ArrayList<>();
        java.util.Map<String, String> origin = new java.util.HashMap<>();
        for (Path doc : docs) {
            Matcher m = BLOCK.matcher(Files.readString(doc));
            while (m.find()) {
                int line = Files.readString(doc).substring(0, m.start()).split("\n", -1).length;
                String name = "Snippet" + sources.size();
                origin.put("/" + name + ".java", Checkout.root().relativize(doc) + ", line " + line);
                String body = m.group(1);
                String parameter = body.contains("Supervisor supervisor =") ? "" : "Supervisor supervisor";
                String code = "import dev.scythe.*;\nimport dev.scythe.pool.*;\nimport java.nio.file.Path;\nimport java.time.Duration;\n"
                        + "// " + Checkout.root().relativize(doc) + ", line " + line + "\n"
                        + "class " + name + " {\n  void run(" + parameter + ") throws Exception {\n" + body + "\n  }\n}\n";
                sources.add(new SimpleJavaFileObject(java.net.URI.create("string:///" + name + ".java"),
                        JavaFileObject.Kind.SOURCE) {
                    @Override
                    public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                        return code;
                    }
                });
            }
        }
        assertTrue(sources.size() >= 4, "found the README's snippets: " + sources.size());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        boolean ok = javac.getTask(null, null, diagnostics, List.of("-d", out.toString(), "-cp",
                System.getProperty("java.class.path"), "-proc:none"), null, sources).call();
        StringBuilder report = new StringBuilder();
        diagnostics.getDiagnostics().forEach(d -> report.append(d.getKind()).append(' ')
                .append(d.getSource() == null ? "" : origin.get(d.getSource().toUri().getPath()))
                .append(", snippet line ").append(d.getLineNumber() - 6).append(": ").append(d.getMessage(null))
                .append('\n'));
        assertTrue(ok, report.toString());
        assertEquals("", report.toString(), "no warnings either");
    }
}
