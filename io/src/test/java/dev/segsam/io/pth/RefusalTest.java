package dev.segsam.io.pth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hostile, unsupported and broken checkpoints are refused with one-line typed errors, and nothing runs. */
class RefusalTest {
    @TempDir
    Path dir;

    /**
     * torch.load of these files would run {@code echo pwned > /tmp/segsam-pth-pwned} (through posix.system or
     * builtins.eval). segsam refuses them, names the global, and the command's side effect does not appear.
     */
    @ParameterizedTest
    @ValueSource(strings = {"hostile_system.pth", "hostile_eval.pth", "hostile_hidden.pth"})
    void hostilePicklesAreRefusedAndRunNothing(String name) throws Exception {
        JsonNode want = Fixtures.expected(name);
        Path pwned = Path.of(want.get("side_effect").asText());
        Files.deleteIfExists(pwned);
        Path p = Fixtures.resource(dir, name);
        var e = assertThrows(UnsafePickleException.class, () -> PthFile.open(p));
        assertEquals(want.get("refused").asText(), e.global());
        assertEquals("refusing to load " + p + ": the pickle references " + e.global() + "; " + UnsafePickleException.SUPPORTED, e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        assertFalse(Files.exists(pwned), "the hostile command ran");
    }

    @Test
    void aModuleObjectInsideTheStateDictIsRefused() throws Exception {
        Path p = Fixtures.resource(dir, "module_in_state_dict.pth");
        var e = assertThrows(UnsafePickleException.class, () -> PthFile.open(p));
        assertEquals("torch.nn.modules.linear.Linear", e.global());
        assertEquals("head", e.tensor());
        assertTrue(e.getMessage().startsWith("refusing to load " + p + ": state dict entry \"head\" is a torch.nn.modules.linear.Linear object;"), e.getMessage());
    }

    @Test
    void legacyFormatIsRefusedWithTheConversionCommand() throws Exception {
        Path p = Fixtures.resource(dir, "legacy.pth");
        var e = assertThrows(PthFormatException.class, () -> PthFile.open(p));
        assertEquals("format", e.field());
        assertTrue(e.getMessage().startsWith(p + ": format: the legacy (pre-1.6, non-zip) PyTorch format"), e.getMessage());
        assertTrue(e.getMessage().contains("torch.save(torch.load(f), f2)"), e.getMessage());
    }

    @Test
    void truncatedDownloadIsNamed() throws Exception {
        Path p = Fixtures.resource(dir, "truncated.pth");
        var e = assertThrows(PthFormatException.class, () -> PthFile.open(p));
        assertEquals("zip", e.field());
        assertTrue(e.getMessage().startsWith(p + ": zip: not a complete zip archive (truncated or corrupted download?)"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void otherFilesAreNamedForWhatTheyAre() throws Exception {
        Path empty = Files.write(dir.resolve("empty.pth"), new byte[0]);
        assertTrue(assertThrows(PthFormatException.class, () -> PthFile.open(empty)).getMessage().endsWith("the file is empty"));
        Path text = Files.writeString(dir.resolve("text.pth"), "hello, not a checkpoint");
        assertTrue(assertThrows(PthFormatException.class, () -> PthFile.open(text)).getMessage().contains("PK\\x03\\x04"));
        Path pickle = Files.write(dir.resolve("bare.pth"), new byte[] {(byte) 0x80, 2, ')', '.'});
        assertTrue(assertThrows(PthFormatException.class, () -> PthFile.open(pickle)).getMessage().contains("a bare pickle"));
        Path st = Files.write(dir.resolve("x.pth"), new byte[] {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        assertTrue(assertThrows(PthFormatException.class, () -> PthFile.open(st)).getMessage().contains("safetensors"));
    }
}
