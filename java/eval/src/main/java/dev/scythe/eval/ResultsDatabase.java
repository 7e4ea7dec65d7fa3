package dev.scythe.eval;

import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The results of an evaluation, in an embedded SQLite database (results.db in the output directory): one row per
 * problem, solver and attempt, written as each attempt starts and completed as it ends, so that a run killed at any
 * moment (even with SIGKILL) leaves every finished attempt on disk and its unfinished ones marked; {@code --resume}
 * goes on from there. The report, the plot, the exports and {@code scythe compare} all read this database.
 *
 * <p>Tables: {@code meta(key, value)} (the run's settings), {@code problems(id, path, family, status, source)},
 * {@code provers(name, family, command, version)}, {@code runs(problem, solver, attempt, outcome, answer,
 * certificate, wall_s, cpu_s, memory_kib, version, command, started, detail)}.
 */
public final class ResultsDatabase implements AutoCloseable {
    /** The file name inside an output directory. */
    public static final String FILE = "results.db";
    /** The schema's version, in {@code meta}; a database of another version is refused, not misread. */
    static final String SCHEMA = "1";
    /** The outcome of an attempt that had started when its run was stopped. */
    public static final String RUNNING = "running", INTERRUPTED = "interrupted";

    /** One row of {@code runs}. */
    public record Row(String problem, String solver, int attempt, String outcome, Verdict answer,
            Certificates.Check.Kind certificate, double wall, double cpu, long memoryKib, String version,
            String command, String started, String detail) {}

    static {
        // The driver extracts SQLite's native library before loading it, by default into /tmp, which is often
        // mounted noexec; the same cache as libscythe's (NativeLibrary) is used instead, unless the user chose one.
        if (System.getProperty("org.sqlite.tmpdir") == null) {
            String dir = System.getProperty("scythe.native.dir", System.getenv("SCYTHE_NATIVE_DIR"));
            String xdg = System.getenv("XDG_CACHE_HOME");
            Path base = dir != null && !dir.isEmpty() ? Path.of(dir) : (xdg != null && !xdg.isEmpty() ? Path.of(xdg)
                    : Path.of(System.getProperty("user.home"), ".cache")).resolve("scythe");
            try {
                System.setProperty("org.sqlite.tmpdir", Files.createDirectories(base.resolve("sqlite")).toString());
            } catch (IOException | SecurityException e) {
                // no cache directory: the driver's default place it is
            }
        }
    }

    private final Path file;
    private final Connection db;

    private ResultsDatabase(Path file, Connection db) {
        this.file = file;
        this.db = db;
    }

    /** Opens (creating if missing) the database file; an existing file of another schema is an error naming it. */
    public static ResultsDatabase open(Path file) throws IOException {
        boolean existed = Files.exists(file);
        if (existed && !Files.isRegularFile(file)) {
            throw new IOException(file + " is not a file");
        }
        Connection c;
        try {
            c = DriverManager.getConnection("jdbc:sqlite:" + file);
        } catch (SQLException e) {
            throw new IOException("cannot open the results database " + file + ": " + e.getMessage(), e);
        }
        ResultsDatabase r = new ResultsDatabase(file, c);
        try (Statement s = c.createStatement()) {
            // WAL: a finished attempt is on disk at its commit, and a kill -9 mid-write loses at most that attempt
            s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA synchronous=NORMAL");
            s.execute("PRAGMA busy_timeout=5000");
            s.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS problems(id TEXT PRIMARY KEY, path TEXT NOT NULL, family TEXT NOT "
                    + "NULL, status TEXT NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS provers(name TEXT PRIMARY KEY, family TEXT NOT NULL, command TEXT "
                    + "NOT NULL, version TEXT NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS runs(problem TEXT NOT NULL, solver TEXT NOT NULL, attempt INTEGER "
                    + "NOT NULL, outcome TEXT NOT NULL, answer TEXT NOT NULL DEFAULT 'UNKNOWN', certificate TEXT NOT "
                    + "NULL DEFAULT 'ABSENT', wall_s REAL, cpu_s REAL, memory_kib INTEGER, version TEXT, command TEXT, "
                    + "started TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', PRIMARY KEY(problem, solver, attempt))");
            Optional<String> schema = r.meta("schema");
            if (schema.isEmpty()) {
                r.putMeta("schema", SCHEMA);
            } else if (!schema.get().equals(SCHEMA)) {
                r.close();
                throw new IOException(file + " holds results of schema " + schema.get() + ", this Scythe reads "
                        + SCHEMA + "; use another --out");
            }
        } catch (SQLException e) {
            r.close();
            throw new IOException("cannot open the results database " + file + " (is it a SQLite database?): "
                    + e.getMessage(), e);
        }
        return r;
    }

    public Path file() {
        return file;
    }

    public Optional<String> meta(String key) throws SQLException {
        try (PreparedStatement s = db.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
            s.setString(1, key);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }

    public void putMeta(String key, String value) throws SQLException {
        try (PreparedStatement s = db.prepareStatement("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")) {
            s.setString(1, key);
            s.setString(2, value);
            s.executeUpdate();
        }
    }

    /** Every problem, in id order. */
    public List<Problem> problems() throws SQLException {
        List<Problem> out = new ArrayList<>();
        try (Statement s = db.createStatement();
                ResultSet rs = s.executeQuery("SELECT id, path, family, status FROM problems ORDER BY id")) {
            while (rs.next()) {
                out.add(new Problem(Path.of(rs.getString(2)), rs.getString(1), rs.getString(3),
                        Verdict.valueOf(rs.getString(4))));
            }
        }
        return out;
    }

    public void putProblems(List<Problem> problems) throws SQLException {
        transaction(() -> {
            try (PreparedStatement s = db.prepareStatement(
                    "INSERT OR REPLACE INTO problems(id, path, family, status) VALUES (?, ?, ?, ?)")) {
                for (Problem p : problems) {
                    s.setString(1, p.id());
                    s.setString(2, p.file().toAbsolutePath().toString());
                    s.setString(3, p.family());
                    s.setString(4, p.status().name());
                    s.addBatch();
                }
                s.executeBatch();
            }
        });
    }

    /** Prover name to version, as recorded. */
    public Map<String, String> proverVersions() throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement s = db.createStatement();
                ResultSet rs = s.executeQuery("SELECT name, version FROM provers ORDER BY rowid")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        }
        return out;
    }

    public void putProver(Provers.Prover p, String version) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(
                "INSERT OR REPLACE INTO provers(name, family, command, version) VALUES (?, ?, ?, ?)")) {
            s.setString(1, p.name());
            s.setString(2, p.family());
            s.setString(3, String.join(" ", p.command()));
            s.setString(4, version);
            s.executeUpdate();
        }
    }

    /**
     * Records that an attempt starts (outcome {@value #RUNNING}) and returns its attempt number: one more than the
     * pair's earlier attempts (interrupted ones).
     */
    public int begin(String problem, String solver, String version, String command) throws SQLException {
        int attempt;
        try (PreparedStatement s = db.prepareStatement(
                "SELECT COALESCE(MAX(attempt), 0) + 1 FROM runs WHERE problem = ? AND solver = ?")) {
            s.setString(1, problem);
            s.setString(2, solver);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                attempt = rs.getInt(1);
            }
        }
        try (PreparedStatement s = db.prepareStatement("INSERT INTO runs(problem, solver, attempt, outcome, version, "
                + "command, started) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            s.setString(1, problem);
            s.setString(2, solver);
            s.setInt(3, attempt);
            s.setString(4, RUNNING);
            s.setString(5, version);
            s.setString(6, command);
            s.setString(7, Instant.now().toString());
            s.executeUpdate();
        }
        return attempt;
    }

    /** Completes an attempt begun with {@link #begin}. */
    public void finish(Row r) throws SQLException {
        try (PreparedStatement s = db.prepareStatement("UPDATE runs SET outcome = ?, answer = ?, certificate = ?, "
                + "wall_s = ?, cpu_s = ?, memory_kib = ?, detail = ? WHERE problem = ? AND solver = ? AND attempt = ?")) {
            s.setString(1, r.outcome());
            s.setString(2, r.answer().name());
            s.setString(3, r.certificate().name());
            s.setDouble(4, r.wall());
            s.setDouble(5, r.cpu());
            s.setLong(6, r.memoryKib());
            s.setString(7, r.detail());
            s.setString(8, r.problem());
            s.setString(9, r.solver());
            s.setInt(10, r.attempt());
            if (s.executeUpdate() != 1) {
                throw new SQLException("no attempt " + r.attempt() + " of " + r.solver() + " on " + r.problem());
            }
        }
    }

    /** Marks the attempts a stopped run left unfinished as {@value #INTERRUPTED}; returns how many there were. */
    public int markInterrupted() throws SQLException {
        try (PreparedStatement s = db.prepareStatement("UPDATE runs SET outcome = ? WHERE outcome = ?")) {
            s.setString(1, INTERRUPTED);
            s.setString(2, RUNNING);
            return s.executeUpdate();
        }
    }

    /** Forgets every attempt of {@code solver}, so that the next run on this database runs it again. */
    public int deleteRuns(String solver) throws SQLException {
        try (PreparedStatement s = db.prepareStatement("DELETE FROM runs WHERE solver = ?")) {
            s.setString(1, solver);
            return s.executeUpdate();
        }
    }

    /** Every row, in problem, solver, attempt order. */
    public List<Row> rows() throws SQLException {
        List<Row> out = new ArrayList<>();
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT problem, solver, attempt, "
                + "outcome, answer, certificate, wall_s, cpu_s, memory_kib, version, command, started, detail FROM runs "
                + "ORDER BY problem, solver, attempt")) {
            while (rs.next()) {
                out.add(new Row(rs.getString(1), rs.getString(2), rs.getInt(3), rs.getString(4),
                        Verdict.valueOf(rs.getString(5)), Certificates.Check.Kind.valueOf(rs.getString(6)),
                        rs.getDouble(7), rs.getDouble(8), rs.getLong(9), rs.getString(10), rs.getString(11),
                        rs.getString(12), rs.getString(13)));
            }
        }
        return out;
    }

    /** Runs {@code body} in one transaction. */
    void transaction(SqlBody body) throws SQLException {
        db.setAutoCommit(false);
        try {
            body.run();
            db.commit();
        } catch (SQLException | RuntimeException e) {
            db.rollback();
            throw e;
        } finally {
            db.setAutoCommit(true);
        }
    }

    interface SqlBody {
        void run() throws SQLException;
    }

    @Override
    public void close() {
        try {
            db.close();
        } catch (SQLException e) {
            // closing a connection we opened: nothing is pending (every write commits at once)
        }
    }
}
