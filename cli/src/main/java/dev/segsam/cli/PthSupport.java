package dev.segsam.cli;

import java.io.IOException;
import java.nio.file.Path;

/** Placeholder until the .pth reader lands: refuses with a clear message. */
final class PthSupport {
    private PthSupport() {}

    static ModelFiles.Opened open(Path p) throws IOException {
        throw new IOException(p + ": .pth loading is not available in this build; convert to .safetensors first");
    }
}
