package dev.scythe.cluster;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import java.io.Serializable;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * What the coordinator sends to one member for one job: the job, the group it belongs to (a race, or one attempt of
 * a corpus problem), its index in the group and who sent it. Runs on the member under its {@link FarmMember}.
 */
final class JobTask implements Callable<RemoteResult>, Serializable, HazelcastInstanceAware {
    private static final long serialVersionUID = 1L;

    final String group;
    final int index;
    final UUID submitter;
    final RemoteJob job;
    /** One of a race's entrants: it reads the race's mark before it starts and claims the race on success. */
    final boolean raced;
    private transient HazelcastInstance instance;

    JobTask(String group, int index, UUID submitter, RemoteJob job, boolean raced) {
        this.raced = raced;
        this.group = Objects.requireNonNull(group, "group");
        this.index = index;
        this.submitter = Objects.requireNonNull(submitter, "submitter");
        this.job = Objects.requireNonNull(job, "job");
    }

    @Override
    public void setHazelcastInstance(HazelcastInstance instance) {
        this.instance = instance;
    }

    @Override
    public RemoteResult call() throws Exception {
        return FarmMember.of(instance).run(this);
    }
}
