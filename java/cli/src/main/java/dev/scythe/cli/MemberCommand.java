package dev.scythe.cli;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.LifecycleEvent;
import dev.scythe.Outcome;
import dev.scythe.cluster.FarmConfig;
import dev.scythe.cluster.FarmMember;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code scythe member}: a member of a Scythe cluster, in the foreground, that runs the jobs coordinators send it. */
@Command(name = "member", customSynopsis = "scythe member [OPTIONS]",
        description = {"Runs jobs for a Scythe cluster: a Hazelcast member, in the foreground, until a signal.", "",
            "Joins the cluster of the members given with --join (none: starts one), TCP/IP only, and runs the jobs "
                    + "that coordinators (scythe race --cluster, scythe evaluate --cluster) send it, each under this "
                    + "machine's own supervisor, at most --slots at a time as they place them. Prints one line when "
                    + "it is up: its address, its slots, the cluster's name and its members; then one line for each "
                    + "member that joins or leaves (joined: HOST:PORT; members: ...). On SIGINT, SIGTERM or SIGHUP it "
                    + "kills its jobs and leaves the cluster. docs/cluster.md has the farm."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "125:a bad option (the message names it), the member could not start or its cluster shut it down, or "
                    + "scythe failed",
            "130, 143, 129:scythe got SIGINT, SIGTERM or SIGHUP: the member killed its jobs and left the cluster"},
        footer = Subcommand.DURATIONS)
final class MemberCommand extends Subcommand {
    /** The pool of job threads a member has (FarmConfig.common): more slots could not all run at once. */
    static final int MAX_SLOTS = 256;

    @Option(names = "--port", paramLabel = "P", converter = Port.class, description = {
        "the first port to listen on (default " + FarmConfig.PORT + "); if taken, the next ones are tried (up to 100)"})
    private int port = FarmConfig.PORT;

    @Option(names = "--slots", paramLabel = "N", converter = Slots.class, description = {
        "jobs this member runs at once, as coordinators place them (1 to " + MAX_SLOTS + "; default: the number of "
                + "processors)"})
    private Integer slots;

    @Option(names = "--join", paramLabel = "HOST:PORT", split = ",", converter = HostPort.class, description = {
        "members of the cluster to join, separated by commas; given twice, both lists count (default: none, this "
                + "member starts a cluster)"})
    private List<String> join = List.of();

    @Option(names = "--address", paramLabel = "IP", description = {
        "the address of this machine to listen on and give the others (default: Hazelcast's choice)"})
    private String address;

    @Option(names = "--cluster-name", paramLabel = "NAME", converter = ClusterName.class, description = {
        "join only a cluster of this name (default " + FarmConfig.CLUSTER + ")"})
    private String clusterName = FarmConfig.CLUSTER;

    @Option(names = "--heartbeat", paramLabel = "D", converter = Heartbeat.class, description = {
        "a member silent this long leaves the cluster, and its jobs end member_lost (1s to 1d, whole seconds; "
                + "default 10s)"})
    private Duration heartbeat = FarmConfig.HEARTBEAT;

    MemberCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    /** The type of {@code --port}: 1 to 65535. */
    static final class Port implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            return (int) Numbers.whole(text, 1, 65535);
        }
    }

    /** The type of {@code --slots}. */
    static final class Slots implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String text) {
            return (int) Numbers.whole(text, 1, MAX_SLOTS);
        }
    }

    /** The type of each address of {@code --join} and {@code race --cluster}: HOST:PORT. */
    static final class HostPort implements ITypeConverter<String> {
        @Override
        public String convert(String text) {
            String entry = text.strip();
            int colon = entry.lastIndexOf(':');
            if (colon <= 0 || !entry.substring(colon + 1).matches("[0-9]+")) {
                throw new TypeConversionException("'" + text + "' is not HOST:PORT (a member's address, for example "
                        + "10.0.0.5:" + FarmConfig.PORT + ")");
            }
            String port = entry.substring(colon + 1);
            if (port.length() > 5 || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                throw new TypeConversionException("the port of '" + text + "' is out of range; accepted: 1 to 65535");
            }
            return entry;
        }
    }

    /** The type of {@code --cluster-name}: not empty. */
    static final class ClusterName implements ITypeConverter<String> {
        @Override
        public String convert(String text) {
            if (text.isBlank()) {
                throw new TypeConversionException("must not be empty");
            }
            return text;
        }
    }

    /** The type of {@code --heartbeat}: a positive duration, 1 s to 1 day, counted in whole seconds. */
    static final class Heartbeat implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String text) {
            Duration d = Durations.read(text);
            if (d == null || d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(Duration.ofDays(1)) > 0) {
                throw new TypeConversionException("must be 1s to 1d, got '" + text + "'");
            }
            return Duration.ofSeconds(d.toSeconds());
        }
    }

    /** Checks that {@code --address} is an IP address of one of this machine's interfaces. */
    private static void checkAddress(String address) {
        InetAddress a;
        try {
            a = InetAddress.ofLiteral(address); // never a name lookup
        } catch (IllegalArgumentException e) {
            throw new UsageException("--address: '" + address + "' is not an IP address");
        }
        try {
            if (NetworkInterface.getByInetAddress(a) == null) {
                throw new UsageException("--address: " + address + " is not an address of this machine");
            }
        } catch (SocketException e) {
            throw new UsageException("--address: cannot read this machine's interfaces: " + e.getMessage());
        }
    }

    /** The members of the cluster that run jobs, by address. */
    static String members(FarmMember member) {
        return addresses(member.instance().getCluster().getMembers());
    }

    private static String addresses(Collection<Member> members) {
        return members.stream().filter(m -> !m.isLiteMember()).map(MemberCommand::address)
                .collect(Collectors.joining(" "));
    }

    private static String address(Member m) {
        return m.getAddress().getHost() + ":" + m.getAddress().getPort();
    }

    /** One line for a member that runs jobs and joined or left (coordinators come and go with each race: not them). */
    private void announce(String what, MembershipEvent e) {
        if (!e.getMember().isLiteMember()) {
            out.println(what + ": " + address(e.getMember()) + "; members: " + addresses(e.getMembers()));
            out.flush();
        }
    }

    @Override
    public Integer call() {
        if (address != null) {
            checkAddress(address);
        }
        int n = slots != null ? slots : Math.min(MAX_SLOTS, Runtime.getRuntime().availableProcessors());
        FarmConfig config = FarmConfig.joining(join).withClusterName(clusterName).withPort(port)
                .withHeartbeat(heartbeat);
        if (address != null) {
            config = config.withAddress(address);
        }
        FarmConfig.quietLogging();
        CountDownLatch stop = new CountDownLatch(1);
        Interrupts interrupts = new Interrupts(reason -> stop.countDown());
        FarmMember member;
        try {
            member = FarmMember.start(config.member(n));
        } catch (RuntimeException e) {
            err.println("scythe member: the member could not start: " + e.getMessage());
            return Outcome.STATUS_SCYTHE_FAILED;
        }
        AtomicBoolean leaving = new AtomicBoolean(), shutDown = new AtomicBoolean();
        boolean interrupted = false;
        try {
            member.instance().getLifecycleService().addLifecycleListener(e -> {
                if (e.getState() == LifecycleEvent.LifecycleState.SHUTTING_DOWN && !leaving.get()) {
                    shutDown.set(true); // not by this command: by the cluster, or Hazelcast itself
                    stop.countDown();
                }
            });
            out.println("scythe member " + member.address() + " slots " + member.slots() + " cluster " + clusterName
                    + "; members: " + members(member));
            out.flush();
            member.instance().getCluster().addMembershipListener(new MembershipListener() {
                @Override
                public void memberAdded(MembershipEvent e) {
                    announce("joined", e);
                }

                @Override
                public void memberRemoved(MembershipEvent e) {
                    announce("left", e);
                }
            });
            stop.await();
        } catch (InterruptedException e) {
            interrupted = true; // in-process only, as in tests: leave as for a signal
        } finally {
            leaving.set(true);
            member.close(); // kills the jobs still running here, leaves the cluster
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (interrupts.status() != 0) {
            return interrupts.status();
        }
        if (shutDown.get()) {
            err.println("scythe member: " + member.address() + " was shut down by its cluster; its jobs were killed");
            return Outcome.STATUS_SCYTHE_FAILED;
        }
        return 0;
    }
}
