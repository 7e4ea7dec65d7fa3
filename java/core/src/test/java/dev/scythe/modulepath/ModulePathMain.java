package dev.scythe.modulepath;

import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;

/**
 * A user's program on the class path, with the library on the module path (ModulePathIT). Its own package: a class
 * path class cannot live in a package of the named module dev.scythe.
 */
public final class ModulePathMain {
    private ModulePathMain() {}

    public static void main(String[] args) throws Exception {
        Module m = Supervisor.class.getModule();
        System.out.println("module " + m.getName() + " exports ffi: " + m.isExported("dev.scythe.ffi")
                + " exports api: " + m.isExported("dev.scythe"));
        try (Supervisor s = new Supervisor()) {
            System.out.println("outcome " + s.start(ProcessSpec.of("sh", "-c", "exit 7")).await());
            System.out.println("guard " + dev.scythe.Scythe.guardPid());
        }
    }
}
