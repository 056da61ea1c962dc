/* A shared library for the inspector's tests. */
int buildopt_answer(int x) { return 42 + x; }
