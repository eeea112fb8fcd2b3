use gradlab_core as _core;
