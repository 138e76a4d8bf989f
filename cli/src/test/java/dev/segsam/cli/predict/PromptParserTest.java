package dev.segsam.cli.predict;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.model.Prompt;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompts from the command line: the flags and the strict prompts file. Every refusal is one line naming the file, the
 * prompt and the field (issue: a label 0.9999999999 used to become 1, {@code "multimask": "yes"} false, duplicate keys and
 * trailing garbage passed, a box of 1e400 was shown as 9223372036854775807).
 */
class PromptParserTest {
    @TempDir
    Path dir;

    private List<Prompt> read(String json) throws Exception {
        Path f = dir.resolve("p.json");
        Files.writeString(f, json);
        return PromptParser.readJson(f);
    }

    private String refusal(String json) {
        var e = assertThrows(PromptParser.BadPromptException.class, () -> read(json), json);
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void readsTheDocumentedFormat() throws Exception {
        List<Prompt> ps = read("[{\"box\": [10, 5.5, 70, 50]}, {\"points\": [[40, 30, 1], [5, 5, 0]], \"multimask\": true},"
                + " {\"box\": [1, 2, 3, 4], \"points\": [[2, 3, 1.0]], \"multimask\": false}]");
        assertEquals(3, ps.size());
        assertEquals(Prompt.box(10, 5.5f, 70, 50), ps.get(0));
        assertEquals(Prompt.point(40, 30, true).withPoint(5, 5, false).multimask(true), ps.get(1));
        assertEquals(Prompt.box(1, 2, 3, 4).withPoint(2, 3, true), ps.get(2));
    }

    @Test
    void refusesWhatUsedToPassSilently() {
        String[][] cases = {
            {"[{\"points\": [[40, 30, 0.9999999999]]}]", "p.json prompt 0 point 0: label 0.9999999999 is not 0 (background) or 1 (foreground)"},
            {"[{\"points\": [[40, 30, true]]}]", "p.json prompt 0 point 0: label true is not 0"},
            {"[{\"box\": [1, 1, 5, 5]}, {\"box\": [1, 1, 5, 5], \"multimask\": \"yes\"}]", "p.json prompt 1 multimask: expected true or false, got \"yes\""},
            {"[{\"box\": [1, 1, 5, 5], \"box\": [2, 2, 6, 6]}]", "p.json prompt 0: duplicate field \"box\""},
            {"[{\"box\": [1, 1, 5, 5]}] trailing", "p.json: unexpected content after the prompts array"},
            {"[{\"box\": [1, 1, 5, 5]}] [{\"box\": [1, 1, 5, 5]}]", "p.json: unexpected content after the prompts array"},
            {"[{\"box\": [0, 0, 1e400, 5]}]", "p.json prompt 0 box: 1e400 is not a finite number"},
            {"[{\"box\": [0, 0, 1e39, 5]}]", "p.json prompt 0 box: 1e39 is not a finite number"},
            {"[{\"points\": [[1e400, 3, 1]]}]", "p.json prompt 0 point 0 x: 1e400 is not a finite number"},
            {"[{\"box\": [1, 1, 5, 5], \"multimsk\": true}]", "p.json prompt 0: unknown field \"multimsk\" (expected box, points, multimask)"},
            {"[{\"box\": [1, 1, 5]}]", "p.json prompt 0 box: expected 4 numbers [x0, y0, x1, y1], got 3"},
            {"[{\"box\": [1, 1, 5, \"6\"]}]", "p.json prompt 0 box: \"6\" is not a number"},
            {"[{\"points\": [[1, 2]]}]", "p.json prompt 0 point 0: expected [x, y, label], got 2 values"},
            {"[{\"points\": [[1, 2, 1, 0]]}]", "p.json prompt 0 point 0: expected [x, y, label], got more than 3 values"},
            {"[{\"points\": {\"x\": 1}}]", "p.json prompt 0 points: expected an array of [x, y, label], got an object"},
            {"[{\"multimask\": true}]", "p.json prompt 0: needs a box or at least one point"},
            {"[{\"box\": [9, 1, 5, 5]}]", "p.json prompt 0: box 9,1,5,5 must have x0 ≤ x1 and y0 ≤ y1"},
            {"[{\"box\": [1, 1, 5, 5]}, 3]", "p.json prompt 1: not an object"},
            {"{\"box\": [1, 1, 5, 5]}", "p.json: expected a JSON array of prompt objects"},
            {"[]", "p.json: no prompts"},
            {"[{\"box\": [1, 1, 5, 5]", "p.json: not valid JSON"},
            {"[{\"box\": [NaN, 1, 5, 5]}]", "p.json: not valid JSON"},
        };
        for (String[] c : cases) {
            String m = refusal(c[0]);
            assertTrue(m.contains(c[1]), "for " + c[0] + "\n  expected: " + c[1] + "\n  got:      " + m);
        }
    }

    @Test
    void missingFileIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> PromptParser.readJson(dir.resolve("none.json")));
    }

    @Test
    void flags() {
        assertEquals(Prompt.box(1, 2, 30, 40).withPoint(5, 6, true).withPoint(7, 8, false).multimask(true),
                PromptParser.fromFlags("1,2,30,40", List.of("5,6,1", " 7, 8, 0"), true));
        assertArrayEquals(new float[] {1.5f, 2, 3, 4}, PromptParser.fromFlags("1.5,2,3,4", List.of(), false).box());
        String[][] cases = {
            {"--box", "1,2,3", "--box 1,2,3: expected x0,y0,x1,y1"},
            {"--box", "1,2,3,1e400", "--box 1,2,3,1e400: '1e400' is not a finite number"},
            {"--box", "1,2,3,x", "--box 1,2,3,x: 'x' is not a number (expected x0,y0,x1,y1)"},
            {"--box", "5,2,3,4", "prompt: box 5,2,3,4 must have x0 ≤ x1"},
            {"--point", "1,2", "--point 1,2: expected x,y,label"},
            {"--point", "1,2,0.9999999999", "--point 1,2,0.9999999999: label 0.9999999999 is not 0 (background) or 1 (foreground)"},
            {"--point", "1,2,yes", "--point 1,2,yes: label 'yes' is not 0"},
            {"--point", "1,NaN,1", "--point 1,NaN,1: 'NaN' is not a finite number"},
        };
        for (String[] c : cases) {
            var e = assertThrows(PromptParser.BadPromptException.class,
                    () -> PromptParser.fromFlags(c[0].equals("--box") ? c[1] : null, c[0].equals("--point") ? List.of(c[1]) : List.of(), false));
            assertTrue(e.getMessage().contains(c[2]), "expected: " + c[2] + "\n  got: " + e.getMessage());
        }
        assertTrue(assertThrows(PromptParser.BadPromptException.class, () -> PromptParser.fromFlags(null, List.of(), false)).getMessage().contains("no prompt"));
    }

    @Test
    void insideTheImage() {
        PromptParser.requireInside(Prompt.box(0, 0, 90, 60), 90, 60, "prompt 0");
        var e = assertThrows(PromptParser.BadPromptException.class, () -> PromptParser.requireInside(Prompt.box(10, 5, 95, 50), 90, 60, "prompt 3"));
        assertEquals("prompt 3: box 10,5,95,50 lies outside the 90x60 image", e.getMessage());
    }
}
