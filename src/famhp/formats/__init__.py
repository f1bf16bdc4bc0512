"""Django format modules where Django's own differ from how the language is written in Belgium."""
