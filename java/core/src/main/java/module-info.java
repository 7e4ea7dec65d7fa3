/**
 * Scythe: a process supervisor for proof farms. The API is the package {@code dev.scythe}, with worker pools and
 * their protocols in {@code dev.scythe.pool}; the generated FFM bindings ({@code dev.scythe.ffi}) and the native
 * files are inside this module and not exported.
 *
 * <p>On the module path, give the module native access: {@code --enable-native-access=dev.scythe}; on the class
 * path, {@code --enable-native-access=ALL-UNNAMED} (or an executable jar's {@code Enable-Native-Access} entry).
 */
module dev.scythe {
    requires java.management; // hang dossiers: every JVM thread's stack, with its locks
    exports dev.scythe;
    exports dev.scythe.pool;
}
