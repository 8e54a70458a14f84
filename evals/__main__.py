from evals.run import main

raise SystemExit(main())
