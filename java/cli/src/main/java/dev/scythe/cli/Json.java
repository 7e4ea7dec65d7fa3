package dev.scythe.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.scythe.Output;
import java.math.BigDecimal;
import java.util.Base64;
import java.util.List;

/**
 * The JSON the CLI prints: one record per object of docs/cli.schema.json (documented in docs/cli.md), written by
 * Jackson. Keys are the components in snake case, in their order; every key is present, null where it does not
 * apply, except the two that only {@code --base64} adds. Times are milliseconds with three decimals, written plain
 * ({@code 300.000}). Text is written as UTF-8 by the caller's stream, whatever the locale.
 */
final class Json {
    private Json() {}

    /** Made on first use, so a command without --json never loads Jackson. */
    private static final class Mapper {
        static final JsonMapper INSTANCE = JsonMapper.builder()
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
                .build();
    }

    static String write(Object value) {
        try {
            return Mapper.INSTANCE.writeValueAsString(value);
        } catch (JsonProcessingException e) { // records of strings, numbers and lists: cannot happen
            throw new IllegalStateException(e);
        }
    }

    /** How one job ended: the same object in every command. */
    record Outcome(String kind, int exitStatus, Integer exitCode, Integer signal, boolean coreDumped,
            String resource, Integer cancelReason, Integer winner, BigDecimal stallWindowMs, Integer errno,
            String message, BigDecimal wallMs, BigDecimal userCpuMs, BigDecimal sysCpuMs, BigDecimal cpuMs,
            Long maxRssKib) {

        static Outcome of(dev.scythe.Outcome o) {
            return new Outcome(o.kind(), o.exitStatus(), o.exitCode() >= 0 ? o.exitCode() : null,
                    o.signal() > 0 ? o.signal() : null,
                    o instanceof dev.scythe.Outcome.Crashed c && c.coreDumped(),
                    o instanceof dev.scythe.Outcome.ResourceExceeded re ? re.resource().name().toLowerCase(java.util.Locale.ROOT) : null,
                    o instanceof dev.scythe.Outcome.Cancelled c ? c.reason().code() : null,
                    o instanceof dev.scythe.Outcome.Preempted p ? p.winner() : null,
                    o instanceof dev.scythe.Outcome.Stalled st ? Durations.millisNumber(st.window()) : null,
                    o instanceof dev.scythe.Outcome.SpawnFailed f ? f.errno() : null,
                    o instanceof dev.scythe.Outcome.SpawnFailed f ? f.message()
                            : o instanceof dev.scythe.Outcome.MemberLost m ? "member " + m.member() + " left the cluster"
                            : null,
                    Durations.millisNumber(o.usage().wall()), Durations.millisNumber(o.usage().userCpu()),
                    Durations.millisNumber(o.usage().systemCpu()), Durations.millisNumber(o.usage().cpu()),
                    o.usage().maxRss().isPresent() ? o.usage().maxRssKib() : null);
        }
    }

    /**
     * A captured stream: its text (UTF-8, invalid bytes as U+FFFD; a marker where bytes were dropped), its size, whether
     * memory ran out while capturing it ({@code lost}), and
     * with {@code --base64} the kept bytes exactly (head then tail; {@code head_bytes} says where the tail starts).
     */
    record Stream(String text, long bytes, long dropped, boolean complete, boolean lost,
            @JsonInclude(JsonInclude.Include.NON_NULL) String base64,
            @JsonInclude(JsonInclude.Include.NON_NULL) Long headBytes) {

        static Stream of(Output out, boolean base64) {
            return new Stream(out.text(), out.total(), out.dropped(), out.complete(), out.lost(),
                    base64 ? Base64.getEncoder().encodeToString(out.bytes()) : null,
                    base64 ? (long) out.head().length : null);
        }
    }

    /** {@code run --json}. */
    record Run(List<String> command, Integer pid, String containment, int exitStatus, Outcome outcome,
            Stream stdout, Stream stderr) {}

    /** {@code race --json}. */
    record Race(String mode, String end, int exitStatus, String winner, Stream winnerStdout,
            BigDecimal preemptionLatencyMs, BigDecimal wallMs, List<Entrant> entrants) {}

    /** One entrant of a race; {@code member}, with {@code --cluster} only, the member it ran on. */
    record Entrant(int index, String name, boolean started, boolean succeeded, Integer pid, Outcome outcome,
            @JsonInclude(JsonInclude.Include.NON_NULL) String member) {}

    /** {@code deepen --json}. */
    record Deepen(boolean succeeded, int exitStatus, Outcome outcome, BigDecimal wallMs, List<Attempt> attempts) {}

    /** One attempt of a deepening. */
    record Attempt(int attempt, int depth, BigDecimal windowMs, Outcome outcome) {}
}
