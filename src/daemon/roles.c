/* The roles compiled into mipsec. A new role adds its ops here. */
#include "daemon/role.h"

extern const struct role_ops ar_role_ops;
extern const struct role_ops ha_role_ops;
extern const struct role_ops cn_role_ops;
extern const struct role_ops mn_role_ops;
extern const struct role_ops ipsec_role_ops;

void roles_register_all(void)
{
	role_register(&ar_role_ops);
	role_register(&ha_role_ops);
	role_register(&cn_role_ops);
	role_register(&mn_role_ops);
	role_register(&ipsec_role_ops);
}
