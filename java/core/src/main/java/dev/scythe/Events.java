package dev.scythe;

import dev.scythe.ffi.scythe_event;
import dev.scythe.ffi.scythe_h;
import dev.scythe.ffi.scythe_output;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;

/** What a native event says, in Java terms: the outcome of a job, and its captured output. */
final class Events {
    private Events() {}

    static Output output(MemorySegment handle, int stream, MemorySegment view, MemorySegment ev) {
        if (scythe_h.scythe_job_output_sized(view, scythe_output.sizeof(), handle, stream) < 0) {
            return Output.EMPTY;
        }
        byte[] head = bytes(scythe_output.head(view), scythe_output.head_len(view));
        byte[] tail = bytes(scythe_output.tail(view), scythe_output.tail_len(view));
        int lostFlag = stream == 1 ? scythe_h.SCYTHE_EVENT_STDOUT_LOST() : scythe_h.SCYTHE_EVENT_STDERR_LOST();
        return new Output(head, tail, scythe_output.total(view), scythe_output.dropped(view),
                (scythe_event.flags(ev) & lostFlag) != 0);
    }

    private static byte[] bytes(MemorySegment p, long len) {
        return len == 0 ? new byte[0] : p.reinterpret(len).toArray(ValueLayout.JAVA_BYTE);
    }

    static Outcome outcome(MemorySegment ev, ProcessSpec spec) {
        CancelToken token = spec.token();
        Usage usage = new Usage(Duration.ofNanos(scythe_event.exit_ns(ev) - scythe_event.start_ns(ev)),
                Duration.ofNanos(scythe_event.user_cpu_ns(ev)), Duration.ofNanos(scythe_event.sys_cpu_ns(ev)),
                scythe_event.max_rss_kib(ev));
        int end = scythe_event.end(ev), code = scythe_event.exit_code(ev), sig = scythe_event.term_signal(ev);
        if (end == scythe_h.SCYTHE_END_EXITED()) {
            return code == 0 ? new Outcome.Success(usage) : new Outcome.Failure(code, usage);
        } else if (end == scythe_h.SCYTHE_END_SIGNALED()) {
            return new Outcome.Crashed(sig, scythe_event.core_dumped(ev) != 0, usage);
        } else if (end == scythe_h.SCYTHE_END_TIMEOUT()) {
            return new Outcome.TimedOut(code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_STALLED()) {
            return new Outcome.Stalled(spec.progress().window(), code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_CPU_LIMIT()) {
            return new Outcome.ResourceExceeded(Outcome.Resource.CPU, code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_MEMORY()) {
            return new Outcome.ResourceExceeded(Outcome.Resource.MEMORY, code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_PROCESSES()) {
            return new Outcome.ResourceExceeded(Outcome.Resource.PROCESSES, code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_CANCELLED()) {
            int reason = scythe_event.cancel_reason(ev);
            if (reason == CancelToken.Reason.PREEMPTED.code()) {
                return new Outcome.Preempted(token == null ? -1 : token.winner().orElse(-1), code, sig, usage);
            }
            return new Outcome.Cancelled(CancelToken.Reason.of(reason), code, sig, usage);
        }
        // SCYTHE_END_LOST, or an end this version does not know: never a success.
        return new Outcome.StatusLost(usage);
    }

    /** The outcome of a job ended (or never started) because its token was cancelled: a claim preempts. */
    static Outcome cancelled(CancelToken token, int signal, Usage usage) {
        CancelToken.Reason reason = token.reason().orElse(CancelToken.Reason.USER);
        return reason.equals(CancelToken.Reason.PREEMPTED)
                ? new Outcome.Preempted(token.winner().orElse(-1), -1, signal, usage)
                : new Outcome.Cancelled(reason, -1, signal, usage);
    }
}
