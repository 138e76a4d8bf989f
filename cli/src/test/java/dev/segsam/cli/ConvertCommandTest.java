package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.tensor.Tensor;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {
    @TempDir
    Path dir;

    private Path safetensors(String name) throws Exception {
        Path f = dir.resolve(name);
        new SafeTensorsWriter().add("w", Tensor.of(new float[] {1, -2, 3.5f, 4, 5, 6}, 2, 3))
                .addLongs("ids", new long[] {7, -1, 1L << 40}, 3).write(f);
        return f;
    }

    @Test
    void roundTripBothWays() throws Exception {
        Path a = safetensors("a.safetensors");
        Path pth = dir.resolve("a.pth");
        MainTest.Run r = MainTest.run("convert", a.toString(), pth.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("wrote " + pth + ": 2 tensors, 48 bytes of data\n", r.out());
        Path back = dir.resolve("back.safetensors");
        r = MainTest.run("convert", pth.toString(), back.toString());
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsFile f = SafeTensorsFile.open(back)) {
            assertArrayEquals(new float[] {1, -2, 3.5f, 4, 5, 6}, f.get("w").toArray());
            assertArrayEquals(new int[] {2, 3}, f.get("w").shape());
            assertArrayEquals(new long[] {7, -1, 1L << 40}, f.longValues("ids"));
        }
    }

    @Test
    void refusesToOverwriteWithoutForce() throws Exception {
        Path a = safetensors("a.safetensors");
        Path out = Files.writeString(dir.resolve("taken.pth"), "precious");
        MainTest.Run r = MainTest.run("convert", a.toString(), out.toString());
        assertEquals(1, r.code());
        assertEquals("segsam: " + out + " exists (use --force to replace it)\n", r.err());
        assertEquals("precious", Files.readString(out));
        r = MainTest.run("convert", "--force", a.toString(), out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("wrote " + out), r.out());
    }

    /** The pickle torch.save writes for an object whose __reduce__ returns (os.system, (cmd,)). */
    @Test
    void hostileCheckpointIsRefusedAndNothingRuns() throws Exception {
        Path pwned = dir.resolve("pwned");
        String cmd = "echo pwned > " + pwned;
        Path evil = dir.resolve("evil.pth");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(evil))) {
            z.putNextEntry(new ZipEntry("evil/data.pkl"));
            OutputStream o = z;
            o.write(new byte[] {(byte) 0x80, 2, 'c'});
            o.write("posix\nsystem\n".getBytes(StandardCharsets.US_ASCII));
            byte[] c = cmd.getBytes(StandardCharsets.US_ASCII);
            o.write(new byte[] {'X', (byte) c.length, 0, 0, 0});
            o.write(c);
            o.write(new byte[] {(byte) 0x85, 'R', '.'}); // TUPLE1 REDUCE STOP
            z.closeEntry();
        }
        Path out = dir.resolve("evil.safetensors");
        MainTest.Run r = MainTest.run("convert", evil.toString(), out.toString());
        assertEquals(1, r.code());
        assertEquals("segsam: refusing to load " + evil + ": the pickle references posix.system; only PyTorch state dicts "
                + "(tensors, dicts, numbers, strings) are supported\n", r.err());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(pwned), "the command ran");
    }

    @Test
    void directionComesFromTheInputsContentAndTheOutputsName() throws Exception {
        Path a = safetensors("a.safetensors");
        MainTest.Run r = MainTest.run("convert", a.toString(), dir.resolve("b.onnx").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("segsam: cannot write 'b.onnx': 'a.safetensors' is a safetensors file, so OUT must end in .pth"), r.err());
        // a PyTorch checkpoint misnamed .safetensors is still read as one
        Path pth = dir.resolve("c.pth");
        assertEquals(0, MainTest.run("convert", a.toString(), pth.toString()).code());
        Path misnamed = Files.move(pth, dir.resolve("misnamed.safetensors"));
        Path back = dir.resolve("back.safetensors");
        r = MainTest.run("convert", misnamed.toString(), back.toString());
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsFile f = SafeTensorsFile.open(back)) {
            assertArrayEquals(new float[] {1, -2, 3.5f, 4, 5, 6}, f.get("w").toArray());
        }
        MainTest.Run missing = MainTest.run("convert", dir.resolve("none.pth").toString(), dir.resolve("x.safetensors").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("segsam: no such file: "), missing.err());
        Path text = Files.writeString(dir.resolve("notes.txt"), "not weights");
        MainTest.Run neither = MainTest.run("convert", text.toString(), dir.resolve("y.safetensors").toString());
        assertEquals(1, neither.code());
        assertEquals("segsam: " + text + ": not a checkpoint: its first bytes are neither a safetensors header nor a zip archive; "
                + "segsam reads safetensors files and PyTorch torch.save checkpoints (.pth/.pt/.bin)\n", neither.err());
    }
}
