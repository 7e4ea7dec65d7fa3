package dev.scythe.cli;

import dev.scythe.Outcome;
import dev.scythe.eval.Comparison;
import dev.scythe.eval.Evaluation;
import dev.scythe.eval.ResultsDatabase;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code scythe compare A B}: two evaluations' results side by side. */
@Command(name = "compare", customSynopsis = "scythe compare A B",
        description = {"Two evaluations side by side: per solver both ran, problems solved and PAR-2, overall and per "
                + "family, over the problems both ran; then the problems each solves that the other does not.", "",
            "A and B are output directories of scythe evaluate, or their results.db files. Problems are matched by "
                    + "their path under the evaluated directory."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:the comparison was printed",
            "125:A or B is not a results database (the message names it)"})
final class CompareCommand extends Subcommand {
    @Parameters(index = "0", paramLabel = "A", converter = PathOptions.Any.class,
            description = "the first evaluation (a directory with results.db, or the file)")
    private Path a;

    @Parameters(index = "1", paramLabel = "B", converter = PathOptions.Any.class,
            description = "the second evaluation")
    private Path b;

    CompareCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
        try {
            Evaluation ea = load(a), eb = load(b);
            out.print(new Comparison(ea, eb).text(a.toString(), b.toString()));
            return 0;
        } catch (IOException e) {
            err.println("scythe: " + e.getMessage());
            return Outcome.STATUS_SCYTHE_FAILED;
        }
    }

    static Evaluation load(Path p) throws IOException {
        Path file = Files.isDirectory(p) ? p.resolve(ResultsDatabase.FILE) : p;
        if (!Files.isRegularFile(file)) {
            throw new IOException("no results database " + file + " (give an output directory of scythe evaluate, "
                    + "or its results.db)");
        }
        try (ResultsDatabase db = ResultsDatabase.open(file)) {
            return Evaluation.fromDatabase(db);
        }
    }
}
