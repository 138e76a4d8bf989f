package dev.segsam.model.segsam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The descriptions shipped with segsam ({@code class-descriptions.json}): shape, texture, location and appearance
 * per modality for AAL brain regions and common abdominal organs. A name resolves to a base description plus its
 * side: {@code Thalamus_L}, {@code kidney_R}, {@code "left kidney"} and {@code kidney_left} all work.
 */
public final class ClassTexts {
    private static final Map<String, String> BASE = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    private static final Map<String, String> ALIASES = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);

    static {
        try (InputStream in = ClassTexts.class.getResourceAsStream("class-descriptions.json")) {
            JsonNode root = new ObjectMapper().readTree(in);
            root.get("classes").properties().forEach(e -> BASE.put(e.getKey(), e.getValue().asText()));
            root.get("aliases").properties().forEach(e -> ALIASES.put(e.getKey(), e.getValue().asText()));
        } catch (IOException e) {
            throw new UncheckedIOException("class-descriptions.json is unreadable", e);
        }
    }

    private ClassTexts() {}

    /** The shipped description for {@code name}, if segsam knows the class. */
    public static Optional<String> describe(String name) {
        String n = ALIASES.getOrDefault(name.trim(), name.trim());
        String side = null;
        String base = n;
        if (n.matches("(?i).*_(L|R|left|right)$")) {
            int cut = n.lastIndexOf('_');
            side = n.substring(cut + 1).toLowerCase(Locale.ROOT).startsWith("l") ? "left" : "right";
            base = n.substring(0, cut);
        }
        String d = BASE.get(base);
        if (d == null && base.startsWith("Vermis")) d = BASE.get("Vermis");
        if (d == null) {
            // e.g. Cerebelum_Crus1 matches, Frontal_Mid_Orb falls back to Frontal_Mid
            int cut = base.lastIndexOf('_');
            while (d == null && cut > 0) {
                d = BASE.get(base.substring(0, cut));
                cut = base.lastIndexOf('_', cut - 1);
            }
        }
        if (d == null) return Optional.empty();
        return Optional.of(side == null ? d : "On the " + side + " side (the patient's " + side + "). " + d);
    }

    /** A class with the shipped description when known, else with {@code description} (or the name alone). */
    public static ClassSpec spec(String name, String description) {
        if (description != null && !description.isBlank()) return new ClassSpec(name, description);
        return new ClassSpec(name, describe(name).orElse(name));
    }
}
