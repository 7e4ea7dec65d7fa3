package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.ffi.scythe_h;
import java.lang.foreign.Arena;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Java layouts generated from scythe.h agree with the library that was actually loaded. */
class AbiTest {

    @Test
    void libraryLoadsWithTheRightVersion() {
        assertTrue(Scythe.isAvailable(), () -> "unavailable: " + Scythe.unavailabilityCause());
        assertEquals(scythe_h.SCYTHE_VERSION_NUMBER(), scythe_h.scythe_version());
        assertTrue(Scythe.capabilities().containsAll(Set.of("pidfd_open", "pidfd_send_signal", "waitid_pidfd",
                "spawn_setsid", "spawn_closefrom")), Scythe.capabilities().toString());
    }

    @Test
    void everyStructAndFieldMatches() throws Exception {
        // Independently of the load's check: every struct of the table has a generated class, compared by its layout's
        // own path lookup.
        Set<String> typesSeen = new HashSet<>();
        int fields = 0;
        for (NativeLibrary.AbiRow row : NativeLibrary.abiTable()) {
            GroupLayout layout = (GroupLayout) Class.forName("dev.scythe.ffi." + row.type()).getMethod("layout")
                    .invoke(null);
            if (row.field() == null) {
                assertEquals(row.size(), layout.byteSize(), "sizeof " + row.type());
                assertEquals(row.size(), scythe_h.scythe_sizeof(Arena.ofAuto().allocateFrom(row.type())), row.type());
                typesSeen.add(row.type());
            } else {
                PathElement p = PathElement.groupElement(row.field());
                assertEquals(row.offset(), layout.byteOffset(p), "offset of " + row.type() + "." + row.field());
                assertEquals(row.size(), layout.select(p).byteSize(), "size of " + row.type() + "." + row.field());
                fields++;
            }
        }
        assertEquals(Set.of("scythe_abi_entry", "scythe_event", "scythe_stdio", "scythe_spawn_options",
                "scythe_output"), typesSeen);
        assertTrue(fields > 30, "fields compared: " + fields);
    }

    @Test
    void theLoadCheckRefusesAnotherAbiAndAMovedField() {
        int ours = scythe_h.SCYTHE_ABI_NUMBER();
        var rows = NativeLibrary.abiTable();
        NativeLibrary.checkAbi(ours, rows); // what the load did
        NativeLibrary.checkAbi(ours + 1, rows); // a later minor: fine
        var major = assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.checkAbi(ours + (1 << 16), rows));
        assertTrue(major.getMessage().contains("ABI"), major.getMessage());
        assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.checkAbi(ours - 1, rows)); // an older minor
        var moved = new java.util.ArrayList<>(rows);
        moved.replaceAll(r -> "scythe_event".equals(r.type()) && "exit_code".equals(r.field())
                ? new NativeLibrary.AbiRow(r.type(), r.field(), r.offset() + 8, r.size()) : r);
        var e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.checkAbi(ours, moved));
        assertTrue(e.getMessage().contains("scythe_event.exit_code"), e.getMessage());
        var unknownField = new java.util.ArrayList<>(rows);
        unknownField.add(new NativeLibrary.AbiRow("scythe_event", "added_in_a_later_minor", 4096, 8));
        NativeLibrary.checkAbi(ours, unknownField);
    }

    @Test
    void aDifferentMajorVersionIsRefused() {
        int otherMajor = (scythe_h.SCYTHE_VERSION_MAJOR() + 1) << 16;
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> NativeLibrary.checkVersion(otherMajor));
        assertTrue(e.getMessage().contains("major version"), e.getMessage());
    }

    @Test
    void nativeErrorsNameTheFunctionAndTheErrno() {
        ScytheException e = assertThrows(ScytheException.class, () -> NativeLibrary.check(-2, "scythe_spawn"));
        assertEquals("scythe_spawn(..) failed: -2 (No such file or directory)", e.getMessage());
        assertEquals(2, e.errno());
        assertEquals("scythe_spawn", e.function());
    }

    @Test
    void unsupportedPlatformIsNamed() {
        String arch = System.getProperty("os.arch");
        try {
            System.setProperty("os.arch", "sparcv9");
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    NativeLibrary::platform);
            assertTrue(e.getMessage().contains("sparcv9"), e.getMessage());
        } finally {
            System.setProperty("os.arch", arch);
        }
    }
}
