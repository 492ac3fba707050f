from tunerig.cli import main

raise SystemExit(main())
