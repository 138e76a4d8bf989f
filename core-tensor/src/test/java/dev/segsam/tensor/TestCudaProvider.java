package dev.segsam.tensor;

import java.lang.reflect.Proxy;

/**
 * A stand-in CUDA provider on the test class path (registered in {@code META-INF/services}), so device selection can be
 * tested without a GPU: unavailable unless a test switches it on ({@link #available}); records the {@link Options} each
 * backend it makes was created with. Its backend only answers {@code name()}, {@code device()} and {@code parallel()}.
 */
public final class TestCudaProvider implements BackendProvider {
    static volatile boolean available;
    static volatile Options lastOptions;
    static volatile int created;

    @Override
    public Device device() {
        return Device.CUDA;
    }

    @Override
    public String unavailableReason() {
        return available ? null : "the test CUDA provider is switched off";
    }

    @Override
    public Backend create(Options options) {
        lastOptions = options;
        created++;
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) ->
                switch (m.getName()) {
                    case "name" -> "test-cuda";
                    case "device" -> Device.CUDA;
                    case "parallel" -> Parallel.SEQUENTIAL;
                    case "toString" -> "test-cuda";
                    default -> throw new UnsupportedOperationException("test-cuda has no " + m.getName());
                });
    }

    static void reset() {
        available = false;
        lastOptions = null;
        created = 0;
    }
}
