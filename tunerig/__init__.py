"""tunerig: the `tunerig` command. The work lives in designer/, codegen/ and hil/."""
