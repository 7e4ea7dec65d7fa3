package dev.scythe.cluster;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import dev.scythe.Race;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * A whole portfolio sent to one member, to run there as a local {@link Race} under the member's supervisor: the
 * entrants share the member's cores as they would share one machine's, so a portfolio's figures mean the same on a
 * cluster as on one machine. The files are shipped once for all entrants.
 */
final class PortfolioTask implements Callable<PortfolioTask.Result>, Serializable, HazelcastInstanceAware {
    private static final long serialVersionUID = 1L;

    final String group;
    final UUID submitter;
    final List<String> names;
    final List<RemoteJob> jobs;
    final Map<String, byte[]> files;
    final Race.Mode mode;
    final int maxConcurrent;
    final long timeoutMillis;
    private transient HazelcastInstance instance;

    PortfolioTask(String group, UUID submitter, List<String> names, List<RemoteJob> jobs, Map<String, byte[]> files,
            Race.Mode mode, int maxConcurrent, long timeoutMillis) {
        this.group = group;
        this.submitter = submitter;
        this.names = List.copyOf(names);
        this.jobs = List.copyOf(jobs);
        this.files = Map.copyOf(files);
        this.mode = mode;
        this.maxConcurrent = maxConcurrent;
        this.timeoutMillis = timeoutMillis;
    }

    /** Each entrant's result in entrant order, the winner's index (-1: none), and the race's wall time. */
    record Result(String member, List<RemoteResult> entrants, int winner, boolean timedOut, long wallNanos)
            implements Serializable {}

    @Override
    public void setHazelcastInstance(HazelcastInstance instance) {
        this.instance = instance;
    }

    @Override
    public Result call() throws Exception {
        return FarmMember.of(instance).run(this);
    }
}
