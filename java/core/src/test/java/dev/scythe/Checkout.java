package dev.scythe;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the checkout is, for tests that use its corpus, docs or scripts: the nearest folder up with the C header. */
public final class Checkout {
    private Checkout() {}

    public static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("native/include/scythe.h"))) {
                return p;
            }
        }
        throw new IllegalStateException("not inside a Scythe checkout: " + Path.of("").toAbsolutePath());
    }

    public static Path resolve(String relative) {
        return root().resolve(relative);
    }
}
