// libpq's client header, from Debian's libpq-dev (include path found through pkg-config).
#include <libpq-fe.h>
