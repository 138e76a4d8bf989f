package dev.segsam.cli.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.model.Prompt;
import java.nio.file.Path;
import java.util.List;

/** A prompts file ({@code predict --prompts}): strict JSON, then every prompt a valid {@link Prompt}. */
class PromptFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void prompts(byte[] data) throws Exception {
        Path p = JsonInvariant.scratch("prompts.json", data);
        List<Prompt> prompts;
        try {
            prompts = PromptParser.readJson(p);
        } catch (PromptParser.BadPromptException e) {
            JsonInvariant.oneLineNaming(e, p);
            return;
        }
        if (prompts.isEmpty() || prompts.size() > PromptParser.MAX_PROMPTS) throw new AssertionError(prompts.size() + " prompts");
        for (Prompt q : prompts) {
            if (!q.hasBox() && q.pointCount() == 0) throw new AssertionError("an empty prompt");
            if (q.pointCount() > PromptParser.MAX_POINTS) throw new AssertionError(q.pointCount() + " points");
            if (q.hasBox()) for (float v : q.box()) if (!Float.isFinite(v)) throw new AssertionError("box " + v);
            for (int i = 0; i < q.pointCount(); i++) {
                if (!Float.isFinite(q.pointX(i)) || !Float.isFinite(q.pointY(i))) throw new AssertionError("point " + i);
                if (q.label(i) != 0 && q.label(i) != 1) throw new AssertionError("label " + q.label(i));
            }
        }
    }
}
