package dev.segsam.kernels;

import dev.segsam.tensor.Shapes;
import dev.segsam.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.ref.Reference;
import java.lang.reflect.RecordComponent;

/**
 * What every CUDA op of one backend needs: its {@link CudaDevice}, the memory pool it allocates from, and a launcher
 * that takes a kernel's typed arguments ({@link KernelArgs}) and turns every failure into a {@link CudaOpException}
 * naming the kernel and the shapes.
 *
 * <p>Errors inside a kernel (an illegal address, say) surface asynchronously, at the next synchronising call; the
 * message then names the last kernel launched. With {@code syncEachLaunch} ({@code Options.cudaSync}, and the tests)
 * every launch is followed by a synchronisation, so the failing kernel is named exactly.
 */
final class CudaRuntime {
    /** Largest tensor, in elements: kernels index with 32-bit unsigned counters that must not wrap (grid ≤ 2^24 threads). */
    static final long MAX_ELEMENTS = (1L << 31) - (1L << 25);
    /** Cap on blocks for grid-stride kernels (65535 × 256 threads < 2^24). */
    static final int MAX_GRID = 65535;

    final CudaDevice device;
    final Gpu gpu;
    final DevicePool pool;
    final boolean syncEachLaunch;

    CudaRuntime(CudaDevice device, DevicePool pool, boolean syncEachLaunch) {
        this.device = device;
        this.gpu = device.gpu;
        this.pool = pool;
        this.syncEachLaunch = syncEachLaunch;
    }

    // ------------------------------------------------------------------ tensors

    /** A new device tensor (contents undefined, or NaN when the pool poisons). */
    Tensor alloc(int... shape) {
        long n = Shapes.numel(Shapes.check(shape));
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("CUDA tensors are limited to " + MAX_ELEMENTS + " elements, shape "
                    + Shapes.str(shape) + " has " + n);
        }
        gpu.enterThread();
        return Tensor.onStorage(new CudaStorage(pool, n * Float.BYTES), shape);
    }

    /** True when {@code t} lives in device memory. */
    static boolean isDevice(Tensor t) {
        return t.storage() instanceof CudaStorage;
    }

    /** Fails unless every non-null tensor is on the GPU (so no output is allocated for a call that cannot run). */
    static void requireDevice(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && !isDevice(t)) {
                throw new IllegalArgumentException(op + ": tensor " + Shapes.str(t.shape()) + " lives on " + t.device()
                        + ", not on the GPU: upload it first (Backend.upload)");
            }
        }
    }

    /** Device address of element {@code offset} of {@code t}. */
    static long address(Tensor t, long offset) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("tensor " + Shapes.str(t.shape()) + " lives on " + t.device()
                    + ", not on the GPU: upload it first (Backend.upload)");
        }
        return s.address() + (t.storageOffset() + offset) * Float.BYTES;
    }

    /** Elements available from {@code t}'s first element to the end of its storage. */
    static long capacity(Tensor t) {
        return t.storage().byteSize() / Float.BYTES - t.storageOffset();
    }

    Tensor upload(Tensor host) {
        if (isDevice(host)) return host;
        Tensor d = alloc(host.shape());
        long bytes = host.numel() * Float.BYTES;
        if (bytes > 0) gpu.copyToDevice(address(d, 0), host.data(), bytes);
        return d;
    }

    Tensor download(Tensor t) {
        if (!isDevice(t)) return t;
        gpu.enterThread();
        Tensor host = Tensor.zeros(t.shape());
        copyToHost(host.data(), address(t, 0), t.numel() * Float.BYTES, "download " + Shapes.str(t.shape()));
        Reference.reachabilityFence(t);
        return host;
    }

    /** A zero-filled device tensor. */
    Tensor zeros(int... shape) {
        Tensor t = alloc(shape);
        if (t.numel() > 0) gpu.memset32(address(t, 0), 0, t.numel());
        return t;
    }

    /** Copies device bytes to the host, naming the last kernel if an earlier asynchronous failure surfaces here. */
    void copyToHost(MemorySegment dst, long src, long bytes, String what) {
        if (bytes == 0) return;
        try {
            gpu.copyToHost(dst, src, bytes);
        } catch (CudaOpException e) {
            throw new CudaOpException(what + " failed; the last kernel launched was " + device.lastLaunch() + ": " + e.getMessage(), e);
        }
    }

    void synchronize(String what) {
        gpu.enterThread();
        try {
            gpu.synchronize();
        } catch (RuntimeException e) {
            throw new CudaOpException(what + " failed; the last kernel launched was " + device.lastLaunch() + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ launches

    /** The last launch on this device, as error messages name it (kernel symbol, shapes, grid): tests check which kernel ran. */
    String lastLaunch() {
        return device.lastLaunch();
    }

    /** Launch for a grid-stride kernel over {@code n} elements. */
    void launch1d(Kernel k, String shapes, long n, KernelArgs args) {
        if (n <= 0) return;
        int grid = (int) Math.min((n + k.threads - 1) / k.threads, MAX_GRID);
        launch(k, shapes, grid, 1, 1, k.threads, 1, 0, args);
    }

    /** Launch for a one-warp-per-row kernel over {@code rows} rows. */
    void launchRows(Kernel k, String shapes, int rows, KernelArgs args) {
        if (rows <= 0) return;
        int perBlock = k.threads / 32;
        launch(k, shapes, (rows + perBlock - 1) / perBlock, 1, 1, k.threads, 1, 0, args);
    }

    /**
     * Launches {@code k} with {@code args}, which must be the record {@link Kernel#args} names. {@code shapes} names the
     * operands for error messages.
     */
    void launch(Kernel k, String shapes, int gx, int gy, int gz, int bx, int by, int sharedBytes, KernelArgs args) {
        if (bx * by != k.threads) {
            throw new IllegalStateException(k.symbol + " is written for " + k.threads + " threads per block, launched with " + bx + "x" + by);
        }
        if (args.getClass() != k.args) {
            throw new IllegalArgumentException(k.symbol + " takes " + k.args.getSimpleName() + " arguments, got " + args.getClass().getSimpleName());
        }
        Object[] raw = marshal(args);
        CudaDevice.Launch launch = new CudaDevice.Launch(k, shapes, gx, gy, gz, bx, by);
        gpu.enterThread();
        Object f = device.function(k);
        device.launched(launch);
        try {
            gpu.launch(f, k, gx, gy, gz, bx, by, sharedBytes, raw);
            if (syncEachLaunch) gpu.synchronize();
        } catch (RuntimeException e) {
            throw new CudaOpException(launch + ": " + e.getMessage(), e);
        } finally {
            Reference.reachabilityFence(args); // tensors stay reachable (no cleaner release) until the launch is queued
        }
    }

    /**
     * How to read one {@link KernelArgs} record class: its component names and types in declaration order (= the
     * kernel's parameter order) and one method handle {@code (KernelArgs) → Object[]} of the {@code void**} values:
     * Integer, Float, Double, or a Long device address (0 for a null {@code In}).
     */
    record Reader(String[] names, Class<?>[] types, MethodHandle values) {}

    static final ClassValue<Reader> READERS = new ClassValue<>() {
        @Override
        protected Reader computeValue(Class<?> type) {
            RecordComponent[] rc = type.getRecordComponents();
            String[] names = new String[rc.length];
            Class<?>[] types = new Class<?>[rc.length];
            MethodHandle[] getters = new MethodHandle[rc.length];
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            try {
                MethodHandle inAddress = lookup.findStatic(CudaRuntime.class, "address", MethodType.methodType(long.class, KernelArgs.In.class));
                MethodHandle outAddress = lookup.findStatic(CudaRuntime.class, "address", MethodType.methodType(long.class, KernelArgs.Out.class));
                for (int i = 0; i < rc.length; i++) {
                    names[i] = rc[i].getName();
                    types[i] = rc[i].getType();
                    MethodHandle get = lookup.unreflect(rc[i].getAccessor());
                    if (types[i] == KernelArgs.In.class) get = MethodHandles.filterReturnValue(get, inAddress);
                    else if (types[i] == KernelArgs.Out.class) get = MethodHandles.filterReturnValue(get, outAddress);
                    else if (types[i] != int.class && types[i] != float.class && types[i] != double.class) {
                        throw new IllegalStateException(type.getSimpleName() + "." + names[i] + ": type " + types[i] + " has no CUDA counterpart");
                    }
                    getters[i] = get.asType(MethodType.methodType(Object.class, KernelArgs.class));
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            // (KernelArgs) → Object[]: every getter applied to the one argument, collected into an array
            MethodHandle collect = MethodHandles.identity(Object[].class).asCollector(Object[].class, rc.length);
            MethodHandle spread = MethodHandles.filterArguments(collect, 0, getters);
            MethodHandle values = MethodHandles.permuteArguments(spread, MethodType.methodType(Object[].class, KernelArgs.class), new int[rc.length]);
            return new Reader(names, types, values);
        }
    };

    /** The device address of an input pointer argument, 0 for null. */
    private static long address(KernelArgs.In p) {
        return p == null ? 0L : address(p.tensor(), p.offset());
    }

    /** The device address of an output pointer argument (never null). */
    private static long address(KernelArgs.Out p) {
        if (p == null) throw new IllegalArgumentException("an output pointer argument is null");
        return address(p.tensor(), p.offset());
    }

    /** The {@code void**} values: Integer, Float, Double, or Long device addresses (0 = NULL). */
    private static Object[] marshal(KernelArgs args) {
        try {
            return (Object[]) READERS.get(args.getClass()).values().invokeExact(args);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(args.getClass().getSimpleName() + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
