#include <stdio.h>
int main(void) { fputs("ekuscope: not built yet\n", stderr); return 2; }
