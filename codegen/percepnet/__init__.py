"""PercepNet pipeline in fixed-point C: front end + int8 network (see codegen.percepnet.generate)."""
