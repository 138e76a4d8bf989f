package dev.segsam.cli.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The progress bar redraws in place on a terminal and writes a few plain lines elsewhere. */
class ProgressTest {
    @Test
    void notATerminalGetsOneLinePerQuarter() {
        StringWriter sw = new StringWriter();
        Progress p = new Progress(new PrintWriter(sw), "slices", 200, true, false);
        for (int i = 0; i <= 200; i++) p.update(i, "slices");
        String s = sw.toString();
        assertFalse(s.contains("\r"), "no carriage returns in a log");
        assertEquals(4, s.lines().count(), s);
        assertTrue(s.lines().toList().get(3).startsWith("slices 200/200 slices (100 %)"), s);
    }

    @Test
    void aTerminalGetsARedrawnBarAndQuietGetsNothing() {
        StringWriter sw = new StringWriter();
        Progress p = new Progress(new PrintWriter(sw), "encoding", 3, true, true);
        for (int i = 0; i <= 3; i++) p.update(i, "blocks");
        assertTrue(sw.toString().contains("\r") && sw.toString().contains("3/3 blocks"), sw.toString());
        StringWriter quiet = new StringWriter();
        Progress q = new Progress(new PrintWriter(quiet), "encoding", 3, false, false);
        for (int i = 0; i <= 3; i++) q.update(i, "blocks");
        assertEquals("", quiet.toString());
    }
}
