package dev.segsam.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a file can break the format gets a typed error naming the file, the tensor and the field. */
class BadFilesTest {
    @TempDir
    Path dir;

    /** A file made of the 8-byte length of {@code header}, the header, and {@code dataBytes} zero bytes. */
    Path file(String header, long declaredLength, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(declaredLength).array());
        out.write(h);
        out.write(new byte[dataBytes]);
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, out.toByteArray());
        return p;
    }

    Path file(String header, int dataBytes) throws Exception {
        return file(header, header.getBytes(StandardCharsets.UTF_8).length, dataBytes);
    }

    SafeTensorsFormatException fails(Path p, String tensor, String field, String messagePart) {
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensorsFile.open(p).close());
        assertEquals(tensor, e.tensor(), e.getMessage());
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(p.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
        return e;
    }

    static final String OK_ENTRY = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    @Test
    void wellFormedControlCaseOpens() throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(file("{" + OK_ENTRY + "}  ", 8))) {
            assertEquals(2, f.get("a").numel());
        }
    }

    @Test
    void fileShorterThanTheLengthField() throws Exception {
        Path p = dir.resolve("tiny.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        fails(p, null, "header length", "truncated");
    }

    @Test
    void headerLengthBeyondTheFile() throws Exception {
        fails(file("{" + OK_ENTRY + "}", 1000, 8), null, "header length", "runs past the end");
        fails(file("{}", Long.MIN_VALUE + 5, 0), null, "header length", "runs past the end"); // u64 above 2^63
    }

    @Test
    void nonJsonHeader() throws Exception {
        fails(file("{\"a\": [1, 2", 0), null, "header", "invalid JSON");
        fails(file("PK\u0003\u0004 not json", 0), null, "header", "does not start with '{'");
        fails(file("{} {}", 0), null, "header", "invalid JSON"); // trailing content
        fails(file("[1,2]", 0), null, "header", "does not start with '{'");
    }

    @Test
    void invalidUtf8Header() throws Exception {
        Path p = file("{\"a\":\"xx\"}", 0);
        byte[] b = Files.readAllBytes(p);
        b[8 + 6] = (byte) 0xC3; // a lone lead byte inside the string
        b[8 + 7] = (byte) 0x28;
        Files.write(p, b);
        fails(p, null, "header", "UTF-8");
    }

    @Test
    void duplicateNames() throws Exception {
        fails(file("{" + OK_ENTRY + "," + OK_ENTRY.replace("0,8", "8,16") + "}", 16), null, "header", "Duplicate");
    }

    @Test
    void unknownDtype() throws Exception {
        fails(file("{\"a\":{\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "a", "dtype", "unknown dtype \"F12\"");
    }

    @Test
    void shapeTimesDtypeSizeDiffersFromSpan() throws Exception {
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "a", "data_offsets", "needs 12");
        fails(file("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2), "a", "shape", "byte boundary");
    }

    @Test
    void hugeShapesAreRejectedWithoutAllocating() throws Exception {
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", 8),
                "a", "shape", "overflows");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,8]}}", 8), "a", "data_offsets", "needs 17179869184");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "a", "shape", "dimension 0");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e3],\"data_offsets\":[0,8]}}", 8), "a", "shape", "dimension 0");
    }

    @Test
    void offsetsOutOfRange() throws Exception {
        // the header promises 16 data bytes, the file has 8
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8), null, "file size", "truncated");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12), null, "file size", "4 bytes after the last tensor");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8), "a", "data_offsets", "begin is -8");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8), "a", "data_offsets", "pair");
    }

    @Test
    void overlappingOrUnorderedOffsets() throws Exception {
        String b = "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}";
        fails(file("{" + OK_ENTRY + "," + b + "}", 12), "b", "data_offsets", "overlaps");
        String hole = "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}";
        fails(file("{" + OK_ENTRY + "," + hole + "}", 20), "b", "data_offsets", "hole");
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8), "a", "data_offsets", "before begin");
    }

    @Test
    void badMetadata() throws Exception {
        fails(file("{\"__metadata__\":{\"n\":3}," + OK_ENTRY + "}", 8), null, "__metadata__", "not a string");
        fails(file("{\"__metadata__\":[1]}", 0), null, "__metadata__", "object");
    }

    @Test
    void headerOverTheFormatLimit() throws Exception {
        // a declared length over 100 MB is refused before reading it, as long as it fits the file
        Path p = dir.resolve("big-header.safetensors");
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_008L).flip());
            ch.write(ByteBuffer.wrap(new byte[] {' '}), 8 + 100_000_008L - 1); // sparse
        }
        fails(p, null, "header length", "limit");
    }
}
