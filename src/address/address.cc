#include "address/address.h"
