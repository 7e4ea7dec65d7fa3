package dev.scythe;

/**
 * How firmly a job is held (docs/containment.md).
 * <ul>
 *   <li>{@link #SESSION}: its own session; ending it signals the session's process group. A process that calls
 *       setsid() or leaves the group escapes.</li>
 *   <li>{@link #CGROUP}: also its own cgroup leaf, joined before the job runs anything; ending it uses cgroup.kill,
 *       which nothing inside escapes. Required for memory and process limits, and gives whole-job CPU time and peak
 *       memory. Starting fails ({@link Outcome.SpawnFailed}) where the machine cannot.</li>
 *   <li>{@link #BEST}: the cgroup level where the machine allows it, else the session; {@link Job#containment()}
 *       says which the job got.</li>
 * </ul>
 */
public enum Containment { SESSION, CGROUP, BEST }
