package dev.segsam.model.sam;

import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorScope;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The decoder-side image contexts of one encoded image ({@link TwoWayTransformer.ImageContext}: the image embedding
 * as keys and layer 0's projections of it), made lazily on the first decode without a mask input, one per decoder
 * (SAM's mask decoder and SEG-SAM's Dec_saw each have their own weights), and reused by every later prompt on the
 * image. The per-image object owns it ({@code SegSam.Features}, closed with the {@code Predictor.Encoded}); closing
 * it frees the contexts, and a later {@link #get} fails. Thread-safe: concurrent decodes on one image make each
 * context once.
 */
public final class ImageContexts implements AutoCloseable {
    private final Map<Object, TwoWayTransformer.ImageContext> made = new IdentityHashMap<>();
    private boolean closed;
    private long bytes;

    /**
     * The context of {@code decoder} (any object identifying one weight set), made by {@code make} on first use; the
     * tensors it returns are taken out of every scope and belong to this object from then on.
     */
    public synchronized TwoWayTransformer.ImageContext get(Object decoder, Supplier<TwoWayTransformer.ImageContext> make) {
        if (closed) throw new IllegalStateException("the image's decoder contexts were closed with the image");
        TwoWayTransformer.ImageContext c = made.get(decoder);
        if (c == null) {
            try (TensorScope s = TensorScope.open()) { // whatever make leaves behind goes; its result stays here
                c = make.get();
                for (Tensor t : new Tensor[] {c.keys(), c.keyPe(), c.k0(), c.v0(), c.q0()}) {
                    TensorScope.detach(t);
                    bytes += 4 * t.numel();
                }
            }
            made.put(decoder, c);
        }
        return c;
    }

    /**
     * Memory the contexts made so far hold (4 bytes per float; 0 before the first decode, and after {@link #close}): for
     * ViT-B about 14 MB per decoder, more than f_v itself, so a cache of encoded images must count it.
     */
    public synchronized long bytes() {
        return bytes;
    }

    /** The number of contexts made so far. */
    public synchronized int size() {
        return made.size();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (TwoWayTransformer.ImageContext c : made.values()) c.close();
        made.clear();
        bytes = 0;
    }
}
