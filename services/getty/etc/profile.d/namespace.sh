# Login shells here run in the getty container: say so in the prompt.
export PS1="(ns: getty) $PS1"
