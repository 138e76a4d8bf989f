package dev.segsam.io;

import dev.segsam.io.pth.PthConvert;
import dev.segsam.io.pth.PthFile;
import dev.segsam.io.pth.PthTensorInfo;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.TensorInfo;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Model weights in either format segsam reads, chosen by looking at the file's first bytes (not its name):
 * <ul>
 *   <li><b>safetensors</b>: an 8-byte little-endian header length (at most the format's 100 MB), then the JSON header,
 *       whose first non-space byte is <code>{</code> — read by {@link SafeTensorsFile};</li>
 *   <li><b>PyTorch</b> {@code torch.save} checkpoints ({@code .pth}, {@code .pt}, {@code .bin}): a zip archive
 *       ({@code PK\3\4}) — read by {@link PthFile}, whose restricted unpickler never runs code from the file and refuses
 *       hostile pickles with a one-line message. Bare pickles ({@code 0x80}, the legacy pre-1.6 format) and tar
 *       archives are handed to it too, so that it refuses them with the command that converts them.</li>
 * </ul>
 * A file whose content is neither is refused with one line naming the file, what it looks like when that is
 * recognisable (a Git LFS pointer, an HTML page, an image, gzip, NIfTI), and the formats accepted. Only when the first
 * bytes say nothing recognisable does the name matter: a {@code .safetensors} or {@code .pth}/{@code .pt}/{@code .bin}
 * file then gets that format's own, more specific diagnosis (a truncated header, say).
 *
 * <p>A checkpoint is a {@link TensorSource} (float32 tensors, zero-copy where the file allows, valid until
 * {@link #close()}) with its {@link #metadata()} (safetensors {@code __metadata__}; empty for {@code .pth}),
 * a listing of every tensor without reading it ({@link #entries()}) and what the reader skipped ({@link #warnings()}).
 */
public final class Checkpoint implements TensorSource, AutoCloseable {
    /** The two checkpoint formats. */
    public enum Format {
        SAFETENSORS("safetensors"), PTH("PyTorch checkpoint");

        private final String description;

        Format(String description) {
            this.description = description;
        }

        /** {@code safetensors} or {@code PyTorch checkpoint}. */
        public String description() {
            return description;
        }
    }

    /** What the one-line refusal lists. */
    public static final String ACCEPTED = "segsam reads safetensors files and PyTorch torch.save checkpoints (.pth/.pt/.bin)";

    /**
     * One tensor as stored, before any conversion.
     *
     * @param dtype the safetensors name of the element type ({@code F32}, {@code BF16}, {@code I64}, ...) for both formats
     * @param bytes bytes of the elements once contiguous
     */
    public record Entry(String name, String dtype, long[] shape, long bytes) {
        public Entry {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** Number of elements. */
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape);
        }
    }

    private final Path path;
    private final Format format;
    private final TensorSource source; // a SafeTensorsFile or a PthFile
    private final Map<String, Entry> entries;
    private final List<String> warnings;

    private Checkpoint(Path path, Format format, TensorSource source, Map<String, Entry> entries, List<String> warnings) {
        this.path = path;
        this.format = format;
        this.source = source;
        this.entries = entries;
        this.warnings = warnings;
    }

    /**
     * Opens and validates {@code path} in the format its content shows (see the class comment).
     *
     * @throws NoSuchFileException when there is no such file
     * @throws FileFormatException (one line, naming the file) when it is neither format, or breaks the one it is in;
     *     {@link dev.segsam.io.pth.UnsafePickleException} for a pickle that would run code
     */
    public static Checkpoint open(Path path) throws IOException {
        return open(path, IoLimits.defaults());
    }

    /** {@link #open(Path)} with the given limits on what a {@code .pth} file's declared sizes may cost. */
    public static Checkpoint open(Path path, IoLimits limits) throws IOException {
        Format f = detect(path);
        if (f == Format.SAFETENSORS) {
            SafeTensorsFile st = SafeTensorsFile.open(path);
            Map<String, Entry> e = new LinkedHashMap<>();
            for (TensorInfo t : st.infos()) e.put(t.name(), new Entry(t.name(), t.dtype().name(), t.shape(), t.byteSize()));
            return new Checkpoint(path, f, st, Collections.unmodifiableMap(e), List.of());
        }
        PthFile pth = PthFile.open(path, null, limits);
        Map<String, Entry> e = new LinkedHashMap<>();
        for (PthTensorInfo t : pth.infos()) {
            e.put(t.name(), new Entry(t.name(), PthConvert.safetensorsType(t.dtype()).name(), t.shape(), t.byteSize()));
        }
        return new Checkpoint(path, f, pth, Collections.unmodifiableMap(e), pth.warnings());
    }

    /**
     * The format of {@code path} by the rule of the class comment, reading only its first bytes.
     *
     * @throws NoSuchFileException when there is no such file
     * @throws FileFormatException when the file is neither format
     */
    public static Format detect(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        if (Files.isDirectory(path)) throw new CheckpointFormatException(path, "a folder, not a checkpoint file; " + ACCEPTED);
        byte[] head = new byte[512];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, head.length);
        }
        head = Arrays.copyOf(head, n);
        if (looksLikeSafetensors(head)) return Format.SAFETENSORS;
        if (looksLikePth(head)) return Format.PTH;
        String seen = recognise(head);
        if (seen == null) {
            // nothing recognisable: the name decides whose (more specific) diagnosis the user gets
            String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".safetensors")) return Format.SAFETENSORS;
            if (name.endsWith(".pth") || name.endsWith(".pt") || name.endsWith(".bin")) return Format.PTH;
            seen = n == 0 ? "the file is empty" : "its first bytes are neither a safetensors header nor a zip archive";
        }
        throw new CheckpointFormatException(path, "not a checkpoint: " + seen + "; " + ACCEPTED);
    }

    /**
     * A plausible header length (1 byte to the format's limit; text read as a number is far larger) and a header whose
     * first non-space byte is '{'. A header length past the end of the file still counts: {@link SafeTensorsFile}
     * then names the truncation.
     */
    private static boolean looksLikeSafetensors(byte[] h) {
        if (h.length < 9) return false;
        long len = 0;
        for (int i = 7; i >= 0; i--) len = len << 8 | (h[i] & 0xFF);
        if (len < 1 || len > SafeTensorsFile.MAX_HEADER_BYTES) return false;
        for (int i = 8; i < h.length; i++) {
            if (h[i] == ' ' || h[i] == '\t' || h[i] == '\n' || h[i] == '\r') continue;
            return h[i] == '{';
        }
        return false;
    }

    /** Zip (what torch.save writes), a bare or legacy pickle (protocol 2..5), or a tar (the oldest torch.save). */
    private static boolean looksLikePth(byte[] h) {
        if (h.length >= 4 && h[0] == 'P' && h[1] == 'K' && (h[2] == 3 && h[3] == 4 || h[2] == 5 && h[3] == 6)) return true;
        if (h.length >= 2 && (h[0] & 0xFF) == 0x80 && h[1] >= 2 && h[1] <= 5) return true;
        return h.length >= 262 && new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
    }

    /** What a non-checkpoint file looks like, for the message; null when nothing is recognised. */
    private static String recognise(byte[] h) {
        String text = new String(h, 0, Math.min(h.length, 200), StandardCharsets.ISO_8859_1);
        String lower = text.stripLeading().toLowerCase(Locale.ROOT);
        if (text.startsWith("version https://git-lfs")) {
            return "a Git LFS pointer file, not the weights themselves (fetch them with 'git lfs pull')";
        }
        if (lower.startsWith("<!doctype html") || lower.startsWith("<html") || lower.startsWith("<?xml")) {
            return "an HTML/XML page (a failed download?)";
        }
        if (h.length >= 8 && (h[0] & 0xFF) == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G') return "a PNG image";
        if (h.length >= 3 && (h[0] & 0xFF) == 0xFF && (h[1] & 0xFF) == 0xD8 && (h[2] & 0xFF) == 0xFF) return "a JPEG image";
        if (h.length >= 2 && (h[0] & 0xFF) == 0x1F && (h[1] & 0xFF) == 0x8B) return "a gzip file (decompress it first)";
        if (h.length >= 348 && (h[344] == 'n' && (h[345] == '+' || h[345] == 'i') && h[346] == '1')) return "a NIfTI image";
        if (h.length >= 132 && new String(h, 128, 4, StandardCharsets.US_ASCII).equals("DICM")) return "a DICOM file";
        if (lower.startsWith("{") || lower.startsWith("[")) return "a JSON file";
        return null;
    }

    // ------------------------------------------------------------------ queries

    public Path path() {
        return path;
    }

    public Format format() {
        return format;
    }

    /** Every tensor in file order (safetensors: data-offset order; {@code .pth}: state dict order), not read. */
    public List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    /** The entry of {@code name}. */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException(path + ": no tensor named \"" + name + "\"");
        return e;
    }

    /** What the reader skipped, one line each ({@code .pth}: non-tensor entries, an optimizer, ...); logged on open too. */
    public List<String> warnings() {
        return warnings;
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    @Override
    public Tensor get(String name) {
        return source.get(name);
    }

    @Override
    public int[] shape(String name) {
        long[] s = entry(name).shape();
        int[] out = new int[s.length];
        for (int i = 0; i < s.length; i++) out[i] = Math.toIntExact(s[i]);
        return out;
    }

    /** The stored metadata: safetensors {@code __metadata__}; empty for a {@code .pth}. */
    @Override
    public Map<String, String> metadata() {
        return source.metadata();
    }

    /** A tensor's elements as stored (contiguous, row-major, little-endian); a view of the file where possible. */
    public MemorySegment bytes(String name) {
        return source instanceof SafeTensorsFile st ? st.bytes(name) : ((PthFile) source).bytes(name);
    }

    /** Unmaps the file; zero-copy tensors obtained from it become unusable. Closing twice is harmless. */
    @Override
    public void close() {
        if (source instanceof SafeTensorsFile st) st.close();
        else ((PthFile) source).close();
    }

    @Override
    public String toString() {
        return path + " (" + format.description() + ", " + entries.size() + " tensors)";
    }

    /** A file that is not a checkpoint in either format. Field: {@code format}. */
    public static final class CheckpointFormatException extends FileFormatException {
        CheckpointFormatException(Path file, String problem) {
            super(file + ": " + problem, file, null, "format");
        }
    }
}
