use std::fmt;

/// Words the two partners read to each other, on a call or side by side, to be sure
/// that no one sat between their devices when they paired. Both sides derive them from
/// the Noise handshake hash, so they match exactly when the two devices ran the
/// handshake with each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafetyWords(pub Vec<&'static str>);

/// How many words are shown: five words of eight bits each.
const COUNT: usize = 5;

impl SafetyWords {
    /// The words for a handshake hash.
    pub fn from_handshake_hash(hash: &[u8]) -> SafetyWords {
        let digest = blake3::derive_key("hearth safety words v1", hash);
        SafetyWords(
            digest[..COUNT]
                .iter()
                .map(|&b| WORDS[usize::from(b)])
                .collect(),
        )
    }
}

impl fmt::Display for SafetyWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// 256 short, concrete, easily spoken words, all distinct.
const WORDS: [&str; 256] = [
    "acorn",
    "amber",
    "anchor",
    "apple",
    "apron",
    "arrow",
    "aspen",
    "atlas",
    "autumn",
    "badge",
    "bagel",
    "bamboo",
    "banjo",
    "barley",
    "basil",
    "beacon",
    "beaver",
    "berry",
    "biscuit",
    "blossom",
    "bluebird",
    "bonfire",
    "breeze",
    "brook",
    "bubble",
    "buffalo",
    "butter",
    "cabin",
    "cactus",
    "camel",
    "candle",
    "canoe",
    "canyon",
    "caramel",
    "carrot",
    "castle",
    "cedar",
    "cello",
    "cherry",
    "chess",
    "chestnut",
    "cinnamon",
    "clover",
    "cobalt",
    "coconut",
    "comet",
    "compass",
    "copper",
    "coral",
    "cotton",
    "cradle",
    "crane",
    "crayon",
    "cricket",
    "crystal",
    "cupcake",
    "daisy",
    "dancer",
    "denim",
    "desert",
    "dolphin",
    "domino",
    "dragon",
    "dune",
    "eagle",
    "easel",
    "echo",
    "elbow",
    "ember",
    "falcon",
    "feather",
    "fern",
    "fiddle",
    "firefly",
    "flute",
    "forest",
    "fossil",
    "fountain",
    "fox",
    "garden",
    "garnet",
    "gecko",
    "ginger",
    "glacier",
    "globe",
    "goose",
    "granite",
    "grape",
    "guitar",
    "hammock",
    "harbor",
    "harp",
    "hazel",
    "heron",
    "hickory",
    "honey",
    "horizon",
    "iceberg",
    "igloo",
    "indigo",
    "island",
    "ivory",
    "jacket",
    "jade",
    "jaguar",
    "jasmine",
    "jelly",
    "jigsaw",
    "juniper",
    "kayak",
    "kettle",
    "kiwi",
    "koala",
    "ladder",
    "lagoon",
    "lantern",
    "laurel",
    "lemon",
    "lilac",
    "lily",
    "lime",
    "linen",
    "lobster",
    "locket",
    "lotus",
    "lunar",
    "magnet",
    "mango",
    "maple",
    "marble",
    "meadow",
    "melon",
    "meteor",
    "mint",
    "mitten",
    "monsoon",
    "moose",
    "mosaic",
    "moss",
    "muffin",
    "mustard",
    "nectar",
    "nest",
    "nickel",
    "noodle",
    "nutmeg",
    "oasis",
    "ocean",
    "olive",
    "onyx",
    "opal",
    "orbit",
    "orchid",
    "otter",
    "owl",
    "paddle",
    "panda",
    "papaya",
    "parrot",
    "peach",
    "pebble",
    "pepper",
    "piano",
    "pickle",
    "pillow",
    "pine",
    "pixel",
    "planet",
    "plum",
    "pocket",
    "pollen",
    "poppy",
    "prairie",
    "pretzel",
    "puffin",
    "pumpkin",
    "quail",
    "quartz",
    "quill",
    "quilt",
    "rabbit",
    "radish",
    "rainbow",
    "raven",
    "reef",
    "ribbon",
    "river",
    "robin",
    "rocket",
    "rose",
    "ruby",
    "saddle",
    "saffron",
    "salmon",
    "sapphire",
    "scarf",
    "seashell",
    "shadow",
    "sierra",
    "silver",
    "sketch",
    "sled",
    "snowflake",
    "sparrow",
    "spice",
    "spruce",
    "squirrel",
    "starfish",
    "stone",
    "sugar",
    "summit",
    "sunset",
    "swan",
    "tango",
    "teapot",
    "thistle",
    "thunder",
    "tiger",
    "timber",
    "toast",
    "topaz",
    "tortoise",
    "tulip",
    "tundra",
    "turtle",
    "umbrella",
    "valley",
    "velvet",
    "violet",
    "violin",
    "volcano",
    "waffle",
    "walnut",
    "walrus",
    "willow",
    "window",
    "winter",
    "wizard",
    "yarrow",
    "yogurt",
    "zebra",
    "zephyr",
    "zinnia",
    "basket",
    "bridge",
    "button",
    "cookie",
    "dinner",
    "ferry",
    "goblet",
    "hiker",
    "jungle",
    "kitten",
    "lychee",
    "mirror",
    "napkin",
];

/// Names one pairing by the safety words both devices showed for it: what a notice
/// that the pairing ended carries, so it ends that pairing and no later one.
pub fn unpair_tag(words: &[String]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("hearth 2026 unpair notice");
    for word in words {
        hasher.update(&(word.len() as u64).to_le_bytes());
        hasher.update(word.as_bytes());
    }
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_distinct() {
        let set: std::collections::HashSet<_> = super::WORDS.iter().collect();
        assert_eq!(set.len(), super::WORDS.len());
    }

    #[test]
    fn an_unpair_tag_names_one_set_of_words() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ours = words(&["anchor", "window", "otter", "violet", "plum"]);
        assert_eq!(super::unpair_tag(&ours), super::unpair_tag(&ours.clone()));
        assert_ne!(
            super::unpair_tag(&ours),
            super::unpair_tag(&words(&["anchor", "window", "otter", "violet", "mango"]))
        );
        // Word boundaries count: "ab"+"c" is not "a"+"bc".
        assert_ne!(
            super::unpair_tag(&words(&["ab", "c"])),
            super::unpair_tag(&words(&["a", "bc"]))
        );
    }
}
