package dev.segsam.io.pth;

import java.nio.file.Path;

/**
 * A checkpoint refused because loading it the way {@code torch.load} does would run code other than PyTorch's tensor
 * rebuilding: its pickle references a function that executes commands or code ({@code posix.system},
 * {@code builtins.eval}, ...), or the state dict segsam would read contains an object built by a class outside
 * the allowlist (a module, an optimizer, any custom class). The message is one line, e.g. {@code refusing to load
 * ckpt.pth: the pickle references posix.system; only PyTorch state dicts (tensors, dicts, numbers, strings) are
 * supported}. Nothing in the file was executed: segsam's unpickler never runs code.
 */
public final class UnsafePickleException extends PthFormatException {
    static final String SUPPORTED = "only PyTorch state dicts (tensors, dicts, numbers, strings) are supported";

    private final String global;

    UnsafePickleException(Path file, String tensor, String global, String reason) {
        super("refusing to load " + file + ": " + reason + "; " + SUPPORTED, file, tensor, "data.pkl");
        this.global = global;
    }

    /** The refused Python global as {@code module.name}, e.g. {@code posix.system}. */
    public String global() {
        return global;
    }
}
