#include <stdio.h>
#include <string.h>

/* A C program for the inspector's non-Go tests: uses a glibc function with a versioned symbol. */
int main(int argc, char **argv) {
    char buf[64];
    strncpy(buf, argc > 1 ? argv[1] : "world", sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    printf("hello %s\n", buf);
    return 0;
}
