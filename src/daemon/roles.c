/* The roles compiled into mipsec. A new role adds its ops here. */
#include "daemon/role.h"

void roles_register_all(void)
{
}
