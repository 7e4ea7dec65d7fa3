package dev.scythe.jmh;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The floors of the CLI's start-up that the JVM sets (StartupFigures runs them from an AOT cache of their own, as
 * {@code scripts/scythe} runs the CLI): with no argument a {@code main} that does nothing; with {@code ffm} one whose
 * only work is one downcall through the FFM linker ({@code getpid}), the least a CLI built on FFM does.
 */
public final class StartupFloor {
    private StartupFloor() {}

    public static void main(String[] args) throws Throwable {
        if (args.length == 1 && args[0].equals("ffm")) {
            Linker linker = Linker.nativeLinker();
            MethodHandle getpid = linker.downcallHandle(linker.defaultLookup().find("getpid").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
            int pid = (int) getpid.invokeExact();
            if (pid != ProcessHandle.current().pid()) {
                throw new IllegalStateException("getpid through FFM gave " + pid);
            }
        } else if (args.length != 0) {
            throw new IllegalArgumentException("usage: StartupFloor [ffm]");
        }
    }
}
