package dev.scythe.jmh;

import java.util.List;
import java.util.Locale;

/** Percentiles of latency samples in nanoseconds. */
final class Telemetry {
    private Telemetry() {}

    static double percentileMs(List<Long> nanos, double p) {
        long[] s = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        if (s.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, i))] / 1e6;
    }

    static String summary(List<Long> nanos) {
        return String.format(Locale.ROOT, "preemption telemetry (winner exit -> last loser reaped): p50 %.3f ms, "
                + "p99 %.3f ms, max %.3f ms over %d races", percentileMs(nanos, 50), percentileMs(nanos, 99),
                percentileMs(nanos, 100), nanos.size());
    }
}
