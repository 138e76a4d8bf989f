package dev.segsam.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A float32 tensor: a shape and contiguous row-major (C-order) values in a {@link Storage}.
 *
 * <p>Host tensors keep their values off-heap in a {@link MemorySegment}, so weights can be memory-mapped straight from
 * a file ({@link #wrap}) and handed to a GPU without passing through the Java heap. Tensors are values-plus-shape
 * only: strides are always the contiguous ones. Ops live in a {@link Backend}, not here; this class offers
 * construction, element access, and the zero-copy views {@link #reshape} and {@link #narrow0}.
 *
 * <p><b>Lifetime.</b> {@link #zeros}, {@link #empty}, {@link #of}, {@link #copy} and every backend op allocate owned
 * memory (host memory goes back to a recycling pool, see {@link HostStorage}; a device backend's through
 * {@link #onStorage}). Who closes it:
 * <ul>
 *   <li>inside a {@link TensorScope} (open on the allocating thread): the scope, when it closes, unless the tensor is
 *       {@linkplain TensorScope#keep kept}, which hands it to the enclosing scope or, without one, to the caller.
 *       Model layers are written this way;</li>
 *   <li>otherwise the code that made it, with {@link #close()}; a tensor that is never closed is freed by a cleaner
 *       after it becomes unreachable (a safety net: the GC does not see off-heap or device memory pressure).</li>
 * </ul>
 * A tensor and its views ({@link #reshape}, {@link #narrow0}) share one allocation, closed exactly once: closing any of
 * them closes it for all. Using a tensor after that ({@link #data}, {@link #storage}, element access, a new view), or
 * closing it a second time, throws {@link IllegalStateException} naming the tensor's shape and device; in debug mode
 * ({@code -Dsegsam.tensor.debug=true}, which the test suite sets) the message also says where it was made and closed,
 * and a {@link MemorySegment} from {@link #data()} dies with the tensor, so a segment kept past {@code close()} fails
 * instead of writing into whichever tensor recycled the memory. Outside debug mode such a stale segment is not caught:
 * do not keep segments beyond the tensor.
 *
 * <p>Borrowed memory is not the tensor's to free: {@link #allocate(Arena, int...)} ties it to a caller's arena and
 * {@link #wrap} to whoever owns the segment (e.g. a mapped file). Such tensors never join a scope, and their
 * {@code close()} does nothing.
 *
 * <p>Host values are stored in native byte order ({@link #LAYOUT}); memory-mapped little-endian files are used in
 * place on little-endian machines (x86-64, aarch64).
 */
public final class Tensor implements AutoCloseable {
    /** The layout of one element: float32, native order, no alignment requirement (mapped files may be unaligned). */
    public static final ValueLayout.OfFloat LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Storage storage;
    private final Lifetime life; // shared by this tensor and its views
    private final long offset; // in elements, from the start of the storage
    private final int[] shape;
    private final long numel;

    private Tensor(Lifetime life, long offset, int[] shape) {
        this.storage = life.storage;
        this.life = life;
        this.offset = offset;
        this.shape = shape;
        this.numel = Shapes.numel(shape);
        if ((offset + numel) * Float.BYTES > storage.byteSize()) {
            throw new IllegalArgumentException("shape " + Shapes.str(shape) + " at element offset " + offset
                    + " needs " + (offset + numel) * Float.BYTES + " bytes, storage has " + storage.byteSize());
        }
    }

    // ------------------------------------------------------------------ construction

    /** A tensor that owns {@code storage}: it joins the current thread's {@link TensorScope}, if one is open. */
    private static Tensor owned(Storage storage, int[] shape) {
        Tensor t = new Tensor(new Lifetime(storage, true, shape), 0, shape);
        TensorScope.register(t.life);
        return t;
    }

    /** A new zero-filled host tensor with owned memory. */
    public static Tensor zeros(int... shape) {
        int[] s = Shapes.check(shape);
        return owned(HostStorage.allocate(Shapes.numel(s) * Float.BYTES), s);
    }

    /**
     * A new host tensor with owned memory whose values are unspecified ({@code torch.empty}): for op outputs that are
     * overwritten completely, skipping the zero fill of a recycled block (see {@link HostStorage}).
     */
    public static Tensor empty(int... shape) {
        int[] s = Shapes.check(shape);
        return owned(HostStorage.allocateUninitialized(Shapes.numel(s) * Float.BYTES), s);
    }

    /** A new host tensor whose memory lives exactly as long as {@code arena} (borrowed: never in a scope). */
    public static Tensor allocate(Arena arena, int... shape) {
        int[] s = Shapes.check(shape);
        return new Tensor(new Lifetime(HostStorage.allocate(arena, Shapes.numel(s) * Float.BYTES), false, s), 0, s);
    }

    /** A new host tensor holding a copy of {@code values} (row-major) with the given shape. */
    public static Tensor of(float[] values, int... shape) {
        int[] s = Shapes.check(shape);
        if (Shapes.numel(s) != values.length) {
            throw new IllegalArgumentException("shape " + Shapes.str(s) + " has " + Shapes.numel(s)
                    + " elements, got " + values.length + " values");
        }
        Tensor t = empty(s);
        MemorySegment.copy(values, 0, t.data(), LAYOUT, 0, values.length);
        return t;
    }

    /** A rank-0 tensor (a scalar). */
    public static Tensor scalar(float value) {
        return of(new float[] {value});
    }

    /**
     * Borrows {@code segment} (float32, native order, row-major) without copying, e.g. a slice of a memory-mapped
     * file. The segment's owner controls the lifetime; {@link #close()} on the result does nothing, and it never
     * joins a scope.
     */
    public static Tensor wrap(MemorySegment segment, int... shape) {
        int[] s = Shapes.check(shape);
        return new Tensor(new Lifetime(HostStorage.borrow(segment), false, s), 0, s);
    }

    /**
     * A borrowed view of this tensor's memory, on any device: {@link #close()} on it (or its views) does nothing and it
     * never joins a scope, while the memory stays this tensor's to free; once the owner closes it, the view fails on
     * use like the owner does. The device counterpart of {@link #wrap} for an owner that hands out its tensors (the
     * autodiff tape).
     */
    public Tensor borrow() {
        life.check(this);
        return new Tensor(new Lifetime(storage, false, shape, life), offset, shape);
    }

    /**
     * A tensor that owns a newly created {@code storage} (for backends that create device storage): it joins the current
     * thread's {@link TensorScope} like any other allocation, and closing it closes the storage (once).
     */
    public static Tensor onStorage(Storage storage, int... shape) {
        return owned(storage, Shapes.check(shape));
    }

    // ------------------------------------------------------------------ shape

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    int[] shapeRef() {
        return shape;
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code d}; negative {@code d} counts from the end, as in PyTorch. */
    public int size(int d) {
        return shape[Shapes.axis(d, shape.length)];
    }

    public long numel() {
        return numel;
    }

    /** True if the shape equals {@code dims}. */
    public boolean hasShape(int... dims) {
        return Arrays.equals(shape, dims);
    }

    // ------------------------------------------------------------------ storage

    public Device device() {
        return storage.device();
    }

    /** The memory behind this tensor. Fails once the tensor is closed (see the class comment). */
    public Storage storage() {
        life.check(this);
        return storage;
    }

    /** Whether the tensor (its memory) is still open: false once it, a view of it or its scope closed it. */
    public boolean isOpen() {
        return life.isOpen();
    }

    Lifetime life() {
        return life;
    }

    /** Offset of element 0 in the storage, in elements (non-zero only for {@link #narrow0} views). */
    public long storageOffset() {
        return offset;
    }

    public boolean isHost() {
        return storage instanceof HostStorage;
    }

    /**
     * The host values as a segment of exactly {@code numel * 4} bytes. Fails for device tensors and once the tensor is
     * closed. Use the segment only while the tensor is open (in debug mode it dies with the tensor).
     */
    public MemorySegment data() {
        life.check(this);
        if (!(storage instanceof HostStorage h)) {
            throw new IllegalStateException("tensor " + Shapes.str(shape) + " lives on " + storage.device()
                    + "; copy it to the host first (Backend.download)");
        }
        MemorySegment seg = life.segment != null ? life.segment : h.segment();
        return seg.asSlice(offset * Float.BYTES, numel * Float.BYTES);
    }

    // ------------------------------------------------------------------ views (no copy)

    /**
     * The same values with another shape (one dimension may be -1, inferred), like {@code torch.reshape} on a
     * contiguous tensor. The result shares the storage.
     */
    public Tensor reshape(int... newShape) {
        life.check(this);
        int[] s = Shapes.inferReshape(newShape, numel, shape);
        return new Tensor(life, offset, s);
    }

    /** Rows {@code [start, start+length)} along dimension 0, sharing the storage ({@code x[start:start+length]}). */
    public Tensor narrow0(int start, int length) {
        life.check(this);
        if (rank() == 0) throw new IllegalArgumentException("cannot narrow a scalar");
        if (start < 0 || length < 0 || start + length > shape[0]) {
            throw new IndexOutOfBoundsException("narrow0(" + start + ", " + length + ") of shape " + Shapes.str(shape));
        }
        int[] s = shape.clone();
        s[0] = length;
        long row = numel / Math.max(shape[0], 1);
        return new Tensor(life, offset + start * row, s);
    }

    // ------------------------------------------------------------------ element access (host)

    /** Element at flat (row-major) index {@code i}. */
    public float get(long i) {
        return data().getAtIndex(LAYOUT, Shapes.checkIndex(i, numel));
    }

    public void set(long i, float v) {
        data().setAtIndex(LAYOUT, Shapes.checkIndex(i, numel), v);
    }

    /** Element at a multi-index, e.g. {@code at(b, c, y, x)}. */
    public float at(int... idx) {
        return get(Shapes.flatIndex(shape, idx));
    }

    /** Copies the values to a new Java array (at most 2^31-1 elements). */
    public float[] toArray() {
        if (numel > Integer.MAX_VALUE - 8) throw new IllegalStateException("too large for a Java array: " + numel);
        float[] out = new float[(int) numel];
        MemorySegment.copy(data(), LAYOUT, 0, out, 0, out.length);
        return out;
    }

    /** Copies {@code n} values starting at flat index {@code from} into {@code dst[dstPos..]}. */
    public void read(long from, float[] dst, int dstPos, int n) {
        MemorySegment.copy(data(), LAYOUT, from * Float.BYTES, dst, dstPos, n);
    }

    /** Writes {@code n} values from {@code src[srcPos..]} starting at flat index {@code to}. */
    public void write(long to, float[] src, int srcPos, int n) {
        MemorySegment.copy(src, srcPos, data(), LAYOUT, to * Float.BYTES, n);
    }

    /** A new owned host tensor with the same shape and values. */
    public Tensor copy() {
        Tensor t = empty(shape);
        MemorySegment.copy(data(), 0, t.data(), 0, numel * Float.BYTES);
        return t;
    }

    /** Sets every element to {@code v}. */
    public Tensor fill(float v) {
        MemorySegment d = data();
        for (long i = 0; i < numel; i++) d.setAtIndex(LAYOUT, i, v);
        return this;
    }

    /**
     * Frees the memory now (see the class comment): this tensor and every view of it become unusable, and the scope
     * that held it forgets it. A no-op for borrowed memory ({@link #wrap}, {@link #allocate(Arena, int...)}).
     *
     * @throws IllegalStateException when it was already closed (by this or another view, or by its scope)
     */
    @Override
    public void close() {
        life.close(this);
    }

    @Override
    public String toString() {
        return "Tensor" + Shapes.str(shape) + "@" + storage.device();
    }
}
